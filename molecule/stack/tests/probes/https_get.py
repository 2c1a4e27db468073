"""Probe: GET URL over HTTPS, checking the server against the CA file. Prints the HTTP status, or
"refused: <reason>" when the TLS handshake or the certificate check fails."""
import ssl
import sys
import urllib.error
import urllib.request


def main(url, ca):
    ctx = ssl.create_default_context(cafile=ca)
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            return str(resp.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except (urllib.error.URLError, ssl.SSLError, OSError) as exc:
        return "refused: " + " ".join(str(getattr(exc, "reason", exc)).split())


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
