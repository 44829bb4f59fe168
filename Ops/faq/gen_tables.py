#!/usr/bin/env python3
"""Generate FAQBot's character tables (run once at development time; output is committed).

  pip install pypinyin opencc-python-reimplemented
  python3 Ops/faq/gen_tables.py [--kb ../shared/faq/kb.jsonl --kb ../shared/faq/tpe_gov_faq.jsonl]

Writes Sources/FAQBot/Resources/t2s.txt (one "TS" pair per line: traditional, simplified) and
Sources/FAQBot/Resources/pinyin.txt (one line per toneless syllable: "syllable<TAB>chars").
Character set: GB2312 (6,763 common simplified characters) + every character of the given
knowledge bases (after traditional->simplified). Polyphones keep pypinyin's first (most common)
reading. Sources: pypinyin (MIT), OpenCC dictionaries via opencc-python-reimplemented (Apache-2.0).
"""
import argparse, json, os, sys
from collections import defaultdict

import opencc
from pypinyin import Style, pinyin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Sources", "FAQBot", "Resources")


def is_cjk(ch):
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def gb2312_chars():
    out = []
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            if is_cjk(ch):
                out.append(ch)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", action="append", default=[])
    a = ap.parse_args()
    kbs = a.kb or [os.path.join(ROOT, "..", "shared", "faq", "kb.jsonl"),
                   os.path.join(ROOT, "..", "shared", "faq", "tpe_gov_faq.jsonl")]
    t2s = opencc.OpenCC("t2s")

    # Traditional -> simplified, single characters over the CJK blocks.
    pairs = {}
    for o in list(range(0x3400, 0x4DC0)) + list(range(0x4E00, 0xA000)) + list(range(0xF900, 0xFB00)):
        ch = chr(o)
        s = t2s.convert(ch)
        if len(s) == 1 and s != ch:
            pairs[ch] = s
    with open(os.path.join(OUT, "t2s.txt"), "w", encoding="utf-8") as f:
        for t in sorted(pairs):
            f.write(t + pairs[t] + "\n")

    chars = set(gb2312_chars())
    for path in kbs:
        with open(path, encoding="utf-8") as f:
            for line in f:
                for ch in t2s.convert(line):
                    if is_cjk(ch):
                        chars.add(ch)
    by_syllable = defaultdict(list)
    for ch in sorted(chars):
        py = pinyin(ch, style=Style.NORMAL, heteronym=False, errors="ignore")
        if not py or not py[0] or not py[0][0].isascii() or not py[0][0].isalpha():
            continue
        by_syllable[py[0][0].replace("ü", "v")].append(ch)
    with open(os.path.join(OUT, "pinyin.txt"), "w", encoding="utf-8") as f:
        for syl in sorted(by_syllable):
            f.write(syl + "\t" + "".join(by_syllable[syl]) + "\n")
    print(f"t2s pairs: {len(pairs)}; pinyin chars: {sum(map(len, by_syllable.values()))} "
          f"in {len(by_syllable)} syllables", file=sys.stderr)


if __name__ == "__main__":
    main()
