#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""
make_inbound.py -- WeChat Official Account callback requests made by wechatpy (an independent
implementation), as WeChat's servers send them in safe mode, for the broker's interop tests
(Tests/WeChatChannelTests/WeChatInteropTests.swift).

Each message is encrypted by wechatpy's WeChatCrypto with a real random prefix, signed with
its WeChatSigner (`signature` and `msg_signature`), and printed as one JSON list:
    [{"name", "content", "msgid", "query": {...}, "body"}]

Usage: make_inbound.py --token T --aes-key K --appid A --openid O --original-id G --timestamp TS
"""
import argparse
import json
import random

from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner
import xmltodict


def cdata(text):
    # "]]>" cannot appear inside one CDATA section: split it, as WeChat does.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


MESSAGES = [
    ("text_chinese", "你好，我要投诉小区噪音扰民问题，地址：幸福路88号。"),
    ("text_emoji", "路灯坏了😀👍🏽 family:👨\u200d👩\u200d👧 flag:🇨🇳"),
    ("text_cdata_end", "a]]>b <c> & \"d\" 'e'"),
    ("text_multiline", "第一行\n第二行\r\n第三行"),
    ("text_long", "市" * 1400),
]


def main():
    ap = argparse.ArgumentParser()
    for name in ("token", "aes-key", "appid", "openid", "original-id", "timestamp"):
        ap.add_argument("--" + name, required=True)
    a = ap.parse_args()
    crypto = WeChatCrypto(a.token, a.aes_key, a.appid)
    out = []
    for k, (name, content) in enumerate(MESSAGES):
        msgid = str(7341234567890123456 + k)  # > 2**53, as real MsgIds are
        xml = ("<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName>"
               "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               "<Content>%s</Content><MsgId>%s</MsgId></xml>") % (
            cdata(a.original_id), cdata(a.openid), a.timestamp, cdata(content), msgid)
        nonce = str(random.randint(10**8, 10**10))
        envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, a.timestamp))["xml"]
        signer = WeChatSigner()
        signer.add_data(a.token, a.timestamp, nonce)
        body = "<xml><ToUserName>%s</ToUserName><Encrypt>%s</Encrypt></xml>" % (
            cdata(a.original_id), cdata(envelope["Encrypt"]))
        query = {"signature": signer.signature, "timestamp": a.timestamp, "nonce": nonce,
                 "openid": a.openid, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
        # XML normalises line ends, so the message as read has LF only.
        out.append({"name": name, "content": content.replace("\r\n", "\n"), "msgid": msgid,
                    "query": query, "body": body})
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
