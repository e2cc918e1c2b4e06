def copy_settings(sender, other, item_map, variation_map, quota_map):
    """After an event is cloned: point the copied voucher settings at the new event's products and quotas."""
    s = sender.settings
    for key, mapping in (('grants_voucher_item', item_map), ('grants_voucher_variation', variation_map),
                         ('grants_voucher_quota', quota_map)):
        old = other.settings.get(key, as_type=int)
        if old is None:
            continue
        new = mapping.get(old)
        if new is not None:
            s.set(key, new.pk)
        else:
            del s[key]
