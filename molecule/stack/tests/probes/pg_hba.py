"""Probe, run on the database host with PGPASSWORD set to the mlflow user's password: connect with
it once from 127.0.0.1 (pg_hba lists it) and once through a relay whose connection to PostgreSQL
comes from 127.0.0.2 (not listed). Prints {"127.0.0.1": ..., "127.0.0.2": ...}: "connected" or
the server's error."""
import json
import socket
import threading

import psycopg2


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def relay(listener):
    client, _peer = listener.accept()
    upstream = socket.socket()
    upstream.settimeout(20)
    upstream.bind(("127.0.0.2", 0))
    upstream.connect(("127.0.0.1", 5432))
    threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
    pump(upstream, client)


def main():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(20)
    threading.Thread(target=relay, args=(listener,), daemon=True).start()
    result = {}
    for name, port in (("127.0.0.1", 5432), ("127.0.0.2", listener.getsockname()[1])):
        try:
            psycopg2.connect(host="127.0.0.1", port=port, dbname="mlflow", user="mlflow", connect_timeout=10).close()
            result[name] = "connected"
        except psycopg2.Error as exc:
            result[name] = str(exc).strip()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
