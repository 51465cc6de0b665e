#!/usr/bin/env bash
# Start the local PostgreSQL and MariaDB servers the SQL-connector tests use, if they are down.
# Where neither can run, the tests that need them skip and say so.
set -u
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
my_up() { mariadb-admin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 || mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }

if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main start || true; done
fi
if ! my_up && [ -x /usr/sbin/mariadbd ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
for _ in $(seq 1 30); do pg_up && my_up && break; sleep 1; done
pg_up && echo "postgresql: up" || echo "postgresql: not available (its tests will skip)"
my_up && echo "mariadb: up" || echo "mariadb: not available (its tests will skip)"
exit 0
