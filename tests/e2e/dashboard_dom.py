#!/usr/bin/env python3
"""Reads the DOM Chromium dumped (--dump-dom) on stdin and prints, as JSON, what the
dashboard shows: the banner, the queue and worker rows, the failures, the gallery tiles,
and every element name seen (so a test can tell an injected <script> or <img> from text)."""
import json
import sys
from html.parser import HTMLParser

VOID = {"meta", "link", "img", "br", "hr", "input", "source", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids = tag, dict(attrs), parent, []

    def text(self):
        return "".join(k if isinstance(k, str) else k.text() for k in self.kids)

    def find(self, pred):
        for k in self.kids:
            if isinstance(k, Node):
                if pred(k):
                    yield k
                yield from k.find(pred)

    def cls(self):
        return self.attrs.get("class", "").split()


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.kids.append(data)


def by_class(node, c):
    return list(node.find(lambda n: c in n.cls()))


def first_text(node, c):
    found = by_class(node, c)
    return found[0].text().strip() if found else None


def cell_num(row, c):
    t = first_text(row, c)
    try:
        return int(t)
    except (TypeError, ValueError):
        return t


def main():
    t = Tree()
    t.feed(sys.stdin.read())
    root = t.root
    banner = next(root.find(lambda n: n.attrs.get("id") == "banner"), None)
    out = {
        "banner": None if banner is None or "hidden" in banner.attrs else banner.text().strip(),
        "tags": t.tags,
        "queues": [],
        "workers": [],
        "failures": [],
        "reasons": [],
        "tiles": [],
    }
    for row in root.find(lambda n: n.tag == "tr" and "data-queue" in n.attrs):
        q = {"name": first_text(row, "name")}
        for f in ("waiting", "in_progress", "scheduled", "retried", "done", "failed"):
            q[f] = cell_num(row, f)
        out["queues"].append(q)
    for row in root.find(lambda n: n.tag == "tr" and "data-worker" in n.attrs):
        state = first_text(row, "alive") or first_text(row, "gone")
        out["workers"].append({"name": first_text(row, "name"), "state": state})
    for row in by_class(root, "failure"):
        out["failures"].append({
            "id": row.attrs.get("data-id"), "url": first_text(row, "url"),
            "error": first_text(row, "error"), "reason": first_text(row, "reason")})
    for row in by_class(root, "reason-group"):
        out["reasons"].append({"reason": first_text(row, "reason"),
                               "count": int(row.kids[1].text())})
    for tile in by_class(root, "tile"):
        a = next(tile.find(lambda n: n.tag == "a"))
        img = next(tile.find(lambda n: n.tag == "img"))
        metas = [m.text().strip() for m in by_class(tile, "meta")]
        out["tiles"].append({"name": first_text(tile, "name"), "href": a.attrs.get("href"),
                             "img": img.attrs.get("src"), "meta": metas})
    json.dump(out, sys.stdout, indent=1)


main()
