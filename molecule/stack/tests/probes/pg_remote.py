"""Probe, run on a host other than the database host: reach PostgreSQL (port 5432) at the address
given. With `psycopg2` (PGPASSWORD set) it logs in as mlflow; with `tcp` it only opens a TCP
connection (for a host without a PostgreSQL client). Prints "connected" or the error."""
import socket
import sys


def main(mode, address):
    if mode == "psycopg2":
        import psycopg2  # pylint: disable=import-outside-toplevel  # only MLflow's venv has it
        try:
            psycopg2.connect(host=address, port=5432, dbname="mlflow", user="mlflow", connect_timeout=10).close()
            return "connected"
        except psycopg2.Error as exc:
            return str(exc).strip()
    try:
        socket.create_connection((address, 5432), 10).close()
        return "connected"
    except OSError as exc:
        return str(exc)


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
