"""A program that imports much and uses little: the lazy_bind demo.

    python demo/app.py                          # eager
    python -m lazy_bind --report demo/app.py    # lazy, with the report

It prints the process's CPU time at its first result (interpreter start-up
included), which the imports it never uses inflate when they are eager.
"""

import os
import time

import asyncio
import decimal
import email.mime.multipart
import http.client
import json
import sqlite3
import unittest
import urllib.request
import xml.dom.minidom
import zipfile

print(json.dumps({"first batch": [1, 2, 3]}))
start = time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID)
print(f"CPU time to first result: {1000 * start:.1f} ms (pid {os.getpid()})")
