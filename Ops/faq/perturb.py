#!/usr/bin/env python3
"""Perturbed variants of the dev queries, to mimic the hidden test styles (dev time only).

  python3 Ops/faq/perturb.py [../shared/faq/queries-dev.jsonl]

Splits the queries exactly as FAQBot's `Split` does (FNV-1a 64 of the UTF-8 query, mod 10;
0-3 held aside) and writes Ops/faq/data/{tuning,heldout}-perturbed.jsonl: five variants per
query, one of each style —
  homophone  1-2 content characters replaced by same-pinyin characters, punctuation dropped
             (speech-transcript style);
  trad       converted to traditional characters (OpenCC s2t);
  typo       one character deleted, doubled, swapped with its neighbour or replaced;
  ramble     a chatty prefix and suffix with English and emoji around the query;
  fragment   colloquial opener, question particles and punctuation dropped.
Seeded: the same input gives the same files.
"""
import json, os, random, sys

import opencc
from pypinyin import Style, lazy_pinyin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Ops", "faq", "data")
PUNCT = set("，。！？、；：,.!?;: “”\"'（）()…~～")
FUNCTION = set("怎么样如何什哪里些个去在需要可以能不有没是吗呢的了我你他她它们这那就都也还和与或到给让被把对从一吧啊呀嘛请问想知道办该应得会用")


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def held_out(q):
    return fnv1a64(q) % 10 < 4


def common_chars():
    out = []
    for hi in range(0xB0, 0xD8):  # GB2312 level 1: the 3,755 most common characters
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


COMMON = common_chars()
BY_SOUND = {}
for ch in COMMON:
    BY_SOUND.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
S2T = opencc.OpenCC("s2t")
PREFIXES = ["hello 你好😊 我想问一下，", "Hi～麻烦问下 🙏 ", "不好意思打扰了 sorry，我就是想了解一下，", "那个，emmm，",
            "您好您好，我在网上查了半天也没看懂😭 ", "OK 我直接说吧，"]
SUFFIXES = ["，谢谢 thanks a lot 🙏", "，急急急！！在线等😅", "，我问了好几个人都说不清楚，真的很烦 🤦", " 麻烦尽快回复 thx",
            "。就这个问题，别的没了👍", "，我下午还要上班，希望能快点知道 ok?"]
OPENERS = ["那个", "就是", "想问下", "请问", "咨询下"]


def is_cjk(ch):
    return "\u4e00" <= ch <= "\u9fff"


def strip_punct(q):
    return "".join(c for c in q if c not in PUNCT)


def homophone(q, rng):
    chars = list(strip_punct(q))
    slots = [i for i, c in enumerate(chars) if is_cjk(c) and c not in FUNCTION]
    rng.shuffle(slots)
    done = 0
    for i in slots:
        py = lazy_pinyin(chars[i], style=Style.NORMAL)[0]
        options = [c for c in BY_SOUND.get(py, []) if c != chars[i]]
        if options:
            chars[i] = rng.choice(options)
            done += 1
        if done >= rng.choice([1, 2]):
            break
    return "".join(chars)


def typo(q, rng):
    chars = list(q)
    slots = [i for i, c in enumerate(chars) if is_cjk(c)]
    if len(slots) < 3:
        return q + q[-1:]
    i = rng.choice(slots)
    kind = rng.choice(["delete", "double", "swap", "replace"])
    if kind == "delete":
        del chars[i]
    elif kind == "double":
        chars.insert(i, chars[i])
    elif kind == "swap" and i + 1 < len(chars):
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    else:
        chars[i] = rng.choice(COMMON)
    return "".join(chars)


def fragment(q, rng):
    body = strip_punct(q)
    for tail in ["吗", "呢", "啊", "呀"]:
        body = body.replace(tail, "")
    return rng.choice(OPENERS) + body


def variants(q, rng):
    return [("homophone", homophone(q, rng)), ("trad", S2T.convert(q)), ("typo", typo(q, rng)),
            ("ramble", rng.choice(PREFIXES) + q + rng.choice(SUFFIXES)), ("fragment", fragment(q, rng))]


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "faq", "queries-dev.jsonl")
    rng = random.Random(12345)
    os.makedirs(OUT, exist_ok=True)
    files = {True: open(os.path.join(OUT, "heldout-perturbed.jsonl"), "w", encoding="utf-8"),
             False: open(os.path.join(OUT, "tuning-perturbed.jsonl"), "w", encoding="utf-8")}
    seen = set()
    for line in open(src, encoding="utf-8"):
        row = json.loads(line)
        if row["query"] in seen:
            continue
        seen.add(row["query"])
        for style, text in variants(row["query"], rng):
            out = {"query": text, "gold": row["gold"], "style": style}
            if row.get("alt"):
                out["alt"] = row["alt"]
            files[held_out(row["query"])].write(json.dumps(out, ensure_ascii=False) + "\n")
    for f in files.values():
        f.close()


if __name__ == "__main__":
    main()
