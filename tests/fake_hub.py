#!/usr/bin/env python3
"""A stand-in for the Hugging Face Hub on loopback, for the tests of `-hf` (tests/fake_hub.h).

It serves the routes vkgraph uses, the way huggingface.co answers them:
  GET /api/models/ORG/REPO/revision/main?blobs=true  the commit and every file with size and hash
  GET /ORG/REPO/resolve/REVISION/PATH                 302 to /cdn/<sha256> (as the Hub sends to its CDN)
  GET /cdn/<sha256>?path=ORG/REPO/PATH                the bytes, with Range support
Errors carry the Hub's X-Error-Code header (RepoNotFound, GatedRepo, EntryNotFound).

Repositories are folders ROOT/ORG/REPO/...; each is one commit whose hash follows from its
content. Faults for the tests: --gated, --drop-half, --corrupt, --fake-size, --throttle.
Every request, and the end of every download, is appended to --log as a JSON line with its time. It binds 127.0.0.1 only, writes its port to
--port-file, and exits by itself after --lifetime seconds whatever happens to the test.
"""

import argparse
import hashlib
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_blob_id(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, folder):
        self.folder = folder
        self.files = {}  # path -> {"size", "sha256", "blob"}
        for base, _, names in os.walk(folder):
            for name in names:
                full = os.path.join(base, name)
                rel = os.path.relpath(full, folder).replace(os.sep, "/")
                self.files[rel] = {"size": os.path.getsize(full), "sha256": sha256_of(full), "blob": git_blob_id(full)}
        listing = "".join(f"{p}:{f['sha256']}\n" for p, f in sorted(self.files.items()))
        self.commit = hashlib.sha1(listing.encode()).hexdigest()


class Hub:
    def __init__(self, args):
        self.args = args
        self.repos = {}
        for org in sorted(os.listdir(args.root)):
            for name in sorted(os.listdir(os.path.join(args.root, org))):
                self.repos[f"{org}/{name}"] = Repo(os.path.join(args.root, org, name))
        self.gated = dict(g.split("=", 1) for g in args.gated)
        self.fake_size = {k: int(v) for k, v in (f.split("=", 1) for f in args.fake_size)}
        self.drop_half = set(args.drop_half)
        self.dropped = set()
        self.corrupt = set(args.corrupt)
        self.lock = threading.Lock()

    def log(self, entry):
        entry["time"] = time.time()
        with self.lock, open(self.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    hub = None

    def log_message(self, *args):  # quiet: the JSON log is the record
        pass

    def send_error_code(self, status, code, message):
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.hub.log({"method": "GET", "path": url.path, "query": url.query, "range": self.headers.get("Range"),
                      "authorization": self.headers.get("Authorization")})
        parts = [urllib.parse.unquote(p) for p in url.path.split("/")[1:]]
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] == "revision":
            return self.listing("/".join(parts[2:4]), parts[5])
        if len(parts) >= 5 and parts[2] == "resolve":
            return self.resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]))
        if len(parts) == 2 and parts[0] == "cdn":
            return self.cdn(parts[1], urllib.parse.parse_qs(url.query).get("path", [""])[0])
        self.send_error_code(404, "NotFound", f"no route {url.path}")

    def listing(self, repo_id, revision):
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self.send_error_code(404, "RepoNotFound", "Repository not found")
        if revision != "main":
            return self.send_error_code(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        siblings = []
        for path, f in sorted(repo.files.items()):
            size = self.hub.fake_size.get(f"{repo_id}/{path}", f["size"])
            siblings.append({"rfilename": path, "size": size, "blobId": f["blob"],
                             "lfs": {"sha256": f["sha256"], "size": size, "pointerSize": 134}})
        body = json.dumps({"id": repo_id, "sha": repo.commit, "siblings": siblings,
                           "gated": "manual" if repo_id in self.hub.gated else False}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def resolve(self, repo_id, revision, path):
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            return self.send_error_code(404, "RepoNotFound", "Repository not found")
        if revision not in ("main", repo.commit):
            return self.send_error_code(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        token = self.hub.gated.get(repo_id)
        if token is not None:
            auth = self.headers.get("Authorization")
            if auth is None:
                return self.send_error_code(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must "
                                            "have access to it and be authenticated to access it. Please log in.")
            if auth != f"Bearer {token}":
                return self.send_error_code(403, "GatedRepo", f"Access to model {repo_id} is restricted and you are "
                                            "not in the authorized list.")
        f = repo.files.get(path)
        if f is None:
            return self.send_error_code(404, "EntryNotFound", f"{path} does not exist on \"main\"")
        self.send_response(302)
        self.send_header("Location", f"/cdn/{f['sha256']}?path={urllib.parse.quote(repo_id + '/' + path)}")
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("X-Linked-Etag", f'"{f["sha256"]}"')
        self.send_header("X-Linked-Size", str(f["size"]))
        self.send_header("ETag", f'"{f["blob"]}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def cdn(self, sha256, full_path):
        pieces = full_path.split("/")
        repo_id, path = "/".join(pieces[:2]), "/".join(pieces[2:])
        repo = self.hub.repos.get(repo_id)
        if repo is None or path not in repo.files or repo.files[path]["sha256"] != sha256:
            return self.send_error_code(404, "EntryNotFound", "no such blob")
        with open(os.path.join(repo.folder, path), "rb") as fh:
            data = bytearray(fh.read())
        if full_path in self.hub.corrupt:
            data[len(data) // 2] ^= 0xFF  # same length, one byte changed: only the hash can tell
        start = 0
        requested = self.headers.get("Range")
        if requested and requested.startswith("bytes=") and requested.endswith("-"):
            start = int(requested[len("bytes="):-1])
        if start >= len(data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = bytes(data[start:])
        self.send_response(206 if start > 0 else 200)
        if start > 0:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{sha256}"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        drop = False
        with self.hub.lock:
            if full_path in self.hub.drop_half and full_path not in self.hub.dropped and start == 0:
                self.hub.dropped.add(full_path)
                drop = True
        if drop:  # half the promised bytes, then the connection closes
            self.send_slowly(body[:len(body) // 2])
            self.wfile.flush()
            self.hub.log({"event": "dropped", "path": full_path, "sent": len(body) // 2})
            self.close_connection = True
            return
        self.send_slowly(body)
        self.hub.log({"event": "sent", "path": full_path, "bytes": len(body)})

    def send_slowly(self, body):
        rate = self.hub.args.throttle
        if rate <= 0:
            self.wfile.write(body)
            return
        chunk = 16384
        started = time.monotonic()
        for at in range(0, len(body), chunk):
            self.wfile.write(body[at:at + chunk])
            self.wfile.flush()
            ahead = (at + chunk) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that stops a download (Ctrl-C, a cancel) closes its end: not worth a trace.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--lifetime", type=float, default=120)
    parser.add_argument("--gated", action="append", default=[], metavar="ORG/REPO=TOKEN")
    parser.add_argument("--drop-half", action="append", default=[], metavar="ORG/REPO/PATH")
    parser.add_argument("--corrupt", action="append", default=[], metavar="ORG/REPO/PATH")
    parser.add_argument("--fake-size", action="append", default=[], metavar="ORG/REPO/PATH=BYTES")
    parser.add_argument("--throttle", type=float, default=0, metavar="BYTES_PER_SECOND")
    args = parser.parse_args()

    Handler.hub = Hub(args)
    open(args.log, "a").close()
    server = Server(("127.0.0.1", 0), Handler)

    def end_of_life():
        time.sleep(args.lifetime)
        os._exit(0)  # the test that started it is gone or stuck: never outlive it

    threading.Thread(target=end_of_life, daemon=True).start()
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(args.port_file + ".tmp", args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
