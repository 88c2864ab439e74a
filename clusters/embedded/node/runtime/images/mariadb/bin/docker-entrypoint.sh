#!/bin/bash
# Entrypoint of the embedded catalog's mariadb/mysql image: the parts of the official image's
# docker-entrypoint.sh that matter for Kubernetes workloads, run with the host's MariaDB.
set -eo pipefail
shopt -s nullglob

mysql_log() {
	local type="$1"; shift
	printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$type" "$*"
}
mysql_note() { mysql_log Note "$@"; }
mysql_warn() { mysql_log Warn "$@" >&2; }
mysql_error() { mysql_log ERROR "$@" >&2; exit 1; }

# file_env VAR [DEFAULT]: VAR or VAR_FILE (secrets mounted as files), not both.
file_env() {
	local var="$1" fileVar="${1}_FILE" def="${2:-}"
	if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
		mysql_error "Both $var and $fileVar are set (but are exclusive)"
	fi
	local val="$def"
	if [ "${!var:-}" ]; then
		val="${!var}"
	elif [ "${!fileVar:-}" ]; then
		val="$(< "${!fileVar}")"
	fi
	export "$var"="$val"
	unset "$fileVar"
}

# MARIADB_x wins, MYSQL_x is the fallback (the official image accepts both).
mysql_compat() {
	local mariadb="MARIADB_$1" mysql="MYSQL_${2:-$1}"
	file_env "$mariadb"
	file_env "$mysql"
	if [ -z "${!mariadb}" ] && [ -n "${!mysql}" ]; then export "$mariadb"="${!mysql}"; fi
}

sql_escape() {
	local newline=$'\n'
	local escaped=${1//\\/\\\\}
	escaped="${escaped//$newline/\\n}"
	echo "${escaped//\'/\\\'}"
}

# Normalise the command: flags go to mariadbd; mysqld is an alias.
if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi
if [ "$1" = 'mysqld' ]; then
	shift
	set -- mariadbd "$@"
fi

if [ "$1" != 'mariadbd' ]; then
	exec "$@"
fi

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
prev=''
for arg in "${@:2}"; do
	case "$prev" in --datadir) DATADIR="$arg" ;; --socket) SOCKET="$arg" ;; esac
	case "$arg" in --datadir=*) DATADIR="${arg#--datadir=}" ;; --socket=*) SOCKET="${arg#--socket=}" ;; esac
	prev="$arg"
done

mkdir -p "$DATADIR" "$(dirname "$SOCKET")"
# As the image does when started as root: the datadir (often a fresh filesystem with lost+found) goes to mysql.
find "$DATADIR" "$(dirname "$SOCKET")" \! -user mysql -exec chown mysql:mysql '{}' +

if [ ! -d "$DATADIR/mysql" ]; then
	mysql_compat ROOT_PASSWORD
	mysql_compat ROOT_PASSWORD_HASH
	mysql_compat ALLOW_EMPTY_ROOT_PASSWORD ALLOW_EMPTY_PASSWORD
	mysql_compat RANDOM_ROOT_PASSWORD
	mysql_compat ROOT_HOST
	mysql_compat DATABASE
	mysql_compat USER
	mysql_compat PASSWORD
	mysql_compat PASSWORD_HASH
	mysql_compat INITDB_SKIP_TZINFO
	: "${MARIADB_ROOT_HOST:=%}"

	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD_HASH" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		mysql_error $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
	fi

	mysql_note "Initializing database files"
	if ! out="$(mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal --skip-test-db --skip-log-bin --expire-logs-days=0 --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 2>&1)"; then
		printf '%s\n' "$out" >&2
		mysql_error "mariadb-install-db failed"
	fi
	mysql_note "Database files initialized"

	mysql_note "Starting temporary server"
	# Not through a function: $! must be mariadbd itself (setpriv execs it) so the kill below reaches it.
	setpriv --reuid=mysql --regid=mysql --init-groups -- mariadbd --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --datadir="$DATADIR" \
		--wsrep_on=OFF --expire-logs-days=0 --skip-slave-start --loose-innodb_buffer_pool_load_at_startup=0 --skip-log-bin "${@:2}" &
	tmp_pid=$!
	client=(mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" --database=mysql)
	for _ in $(seq 300); do
		if "${client[@]}" -e 'SELECT 1' >/dev/null 2>&1; then break; fi
		if ! kill -0 "$tmp_pid" 2>/dev/null; then mysql_error "Unable to start server."; fi
		sleep 0.1
	done
	"${client[@]}" -e 'SELECT 1' >/dev/null || mysql_error "Unable to start server."
	mysql_note "Temporary server started."

	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
		# Same as the image: tz tables from the system zoneinfo (the leap-second ones skipped).
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | "${client[@]}" || mysql_warn "could not load time zone tables"
	fi

	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD="$(tr -dc 'A-Za-z0-9' < /dev/urandom | head -c 32 || true)"
		export MARIADB_ROOT_PASSWORD
		mysql_note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi

	rootPasswordEscaped="$(sql_escape "$MARIADB_ROOT_PASSWORD")"
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		rootAuth="PASSWORD '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")'"
	else
		rootAuth="'${rootPasswordEscaped}'"
	fi
	rootHostEscaped="$(sql_escape "$MARIADB_ROOT_HOST")"
	rootCreate=
	if [ "$MARIADB_ROOT_HOST" != 'localhost' ]; then
		rootCreate="CREATE USER 'root'@'${rootHostEscaped}' IDENTIFIED BY ${rootAuth};
GRANT ALL ON *.* TO 'root'@'${rootHostEscaped}' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'${rootHostEscaped}' WITH GRANT OPTION;"
	fi
	dbCreate=
	if [ -n "$MARIADB_DATABASE" ]; then
		mysql_note "Creating database ${MARIADB_DATABASE}"
		dbCreate="CREATE DATABASE IF NOT EXISTS \`${MARIADB_DATABASE//\`/\`\`}\`;"
	fi
	userCreate=
	if [ -n "$MARIADB_USER" ]; then
		if [ -n "$MARIADB_PASSWORD_HASH" ]; then
			userAuth="PASSWORD '$(sql_escape "$MARIADB_PASSWORD_HASH")'"
		else
			userAuth="'$(sql_escape "$MARIADB_PASSWORD")'"
		fi
		mysql_note "Creating user ${MARIADB_USER}"
		userEscaped="$(sql_escape "$MARIADB_USER")"
		userCreate="CREATE USER '${userEscaped}'@'%' IDENTIFIED BY ${userAuth};"
		if [ -n "$MARIADB_DATABASE" ]; then
			mysql_note "Giving user ${MARIADB_USER} access to schema ${MARIADB_DATABASE}"
			userCreate+="
GRANT ALL ON \`${MARIADB_DATABASE//\`/\`\`}\`.* TO '${userEscaped}'@'%';"
		fi
	fi

	"${client[@]}" <<-EOSQL
		SET @@SESSION.SQL_LOG_BIN=0;
		SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
		DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
		EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname,'\'');
		DELETE FROM mysql.global_priv WHERE user = '' ;
		SET PASSWORD FOR 'root'@'localhost'= PASSWORD('${rootPasswordEscaped}');
		${rootCreate}
		${dbCreate}
		${userCreate}
		FLUSH PRIVILEGES;
	EOSQL
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		"${client[@]}" -e "SET PASSWORD FOR 'root'@'localhost'= '$(sql_escape "$MARIADB_ROOT_PASSWORD_HASH")';"
	fi
	client+=(--password="$MARIADB_ROOT_PASSWORD")

	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then mysql_note "$0: running $f"; "$f"; else mysql_note "$0: sourcing $f"; . "$f"; fi ;;
			*.sql) mysql_note "$0: running $f"; "${client[@]}" ${MARIADB_DATABASE:+"--database=$MARIADB_DATABASE"} < "$f" ;;
			*.sql.gz) mysql_note "$0: running $f"; gunzip -c "$f" | "${client[@]}" ${MARIADB_DATABASE:+"--database=$MARIADB_DATABASE"} ;;
			*) mysql_warn "$0: ignoring $f" ;;
		esac
	done

	mysql_note "Stopping temporary server"
	kill -TERM "$tmp_pid"
	wait "$tmp_pid" || true
	mysql_note "Temporary server stopped"
	echo
	mysql_note "MariaDB init process done. Ready for start up."
	echo
fi

mysql_note "Entrypoint script for MariaDB Server (embedded catalog) started."
exec setpriv --reuid=mysql --regid=mysql --init-groups -- "$@"
