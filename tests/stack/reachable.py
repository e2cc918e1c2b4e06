"""Exit 0 if PostgreSQL and Redis answer on 127.0.0.1; otherwise print why the real-stack suite is skipped."""
import socket
import sys

missing = []
for name, port in (('PostgreSQL', 5432), ('Redis', 6379)):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=2).close()
    except OSError as e:
        missing.append(f'{name} on 127.0.0.1:{port} ({e})')
if missing:
    print('SKIPPED the real-stack suite (tests/stack): not reachable: ' + '; '.join(missing))
    sys.exit(1)
