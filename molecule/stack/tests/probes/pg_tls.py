"""Probe: log in to PostgreSQL or PgBouncer at ADDRESS PORT as USER to DBNAME with libpq's
SSLMODE, checking the server against the CA file (PGPASSWORD in the environment). Prints
"connected" or the error, on one line."""
import sys

import psycopg2  # MLflow's venv, or Debian's python3-psycopg2 on the database host


def main(address, port, dbname, user, sslmode, ca):
    try:
        psycopg2.connect(host=address, port=int(port), dbname=dbname, user=user, sslmode=sslmode, sslrootcert=ca,
                         connect_timeout=10).close()
        return "connected"
    except psycopg2.Error as exc:
        return " ".join(str(exc).split())


if __name__ == "__main__":
    print(main(*sys.argv[1:7]))
