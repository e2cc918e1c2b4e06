/* globals Morris, $ */
/* Grants → Statistics: the charts, drawn with pretix's own Morris.js/Raphaël from the page's JSON. */
/* No "resize": Morris 0.5.1 then calls setTimeout with an undefined handler, which pretix's CSP refuses as eval. */
$(function () {
    'use strict';
    var el = document.getElementById('grants-insights-data');
    if (!el || typeof Morris === 'undefined') {
        return;
    }
    var data = JSON.parse(el.textContent);
    var purple = '#3b1c4a', green = '#50a167', violet = '#8e44ad', grey = '#7f7f7f', blue = '#3b7fc4';
    $('.grants-chart').css('height', '260px');

    function escapeHtml (s) {
        return $('<div>').text(String(s)).html();
    }
    function hoverText (rows, keys, labels) {
        return function (index) {
            var row = rows[index], html = '<div class="morris-hover-row-label">' + escapeHtml(row.label) + '</div>';
            for (var i = 0; i < keys.length; i++) {
                html += '<div class="morris-hover-point">' + escapeHtml(labels[i]) + ': ' + escapeHtml(row[keys[i]]) + '</div>';
            }
            return html;
        };
    }
    function bars (id, rows, labels, horizontal) {
        if (!document.getElementById(id) || !rows.length) {
            return;
        }
        new Morris.Bar({
            element: id,
            data: rows,
            xkey: 'label',
            ykeys: ['value'],
            labels: labels,
            barColors: [purple],
            hideHover: 'auto',
            horizontal: !!horizontal,
            xLabelMargin: 2,
            hoverCallback: hoverText(rows, ['text'], labels)
        });
    }

    bars('chart-funnel', data.funnel, [data.labels.grants], true);
    if (document.getElementById('chart-money')) {
        var columns = data.money_columns, moneyLabels = [], moneyTexts = [];
        for (var c = 0; c < columns.length; c++) {
            moneyLabels.push(data.labels[columns[c]]);
            moneyTexts.push(columns[c] + '_text');
        }
        new Morris.Bar({
            element: 'chart-money',
            data: data.money,
            xkey: 'label',
            ykeys: columns,
            labels: moneyLabels,
            barColors: [purple, green, violet, grey, blue],
            hideHover: 'auto',
            hoverCallback: hoverText(data.money, moneyTexts, moneyLabels)
        });
    }
    if (document.getElementById('chart-days') && data.days.length) {
        new Morris.Area({
            element: 'chart-days',
            data: data.days,
            xkey: 'label',
            ykeys: ['value'],
            labels: [data.labels.count],
            lineColors: [purple],
            events: data.events,
            eventLineColors: [green],
            smooth: false,
            fillOpacity: 0.3,
            behaveLikeLine: true,
            hideHover: 'auto',
            hoverCallback: hoverText(data.days, ['text'], [data.labels.count])
        });
    }
    for (var i = 0; i < data.who.length; i++) {
        bars('chart-' + data.who[i].key, data.who[i].rows, [data.labels.grants], true);
    }
});
