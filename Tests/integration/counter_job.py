"""A batch job for `baton lock` tests: increments counter c.n 20 times in
separate transactions, optionally pausing between them (JOB_PAUSE seconds),
and records its start in JOB_LOG."""
import os
import sqlite3
import time

pause = float(os.environ.get("JOB_PAUSE", "0"))
con = sqlite3.connect(os.environ["BATON_DB"], isolation_level=None, timeout=30)
con.execute("CREATE TABLE IF NOT EXISTS c(id INTEGER PRIMARY KEY, n INTEGER)")
con.execute("INSERT OR IGNORE INTO c VALUES (1, 0)")
if os.environ.get("JOB_LOG"):
    with open(os.environ["JOB_LOG"], "a") as log:
        log.write(f"{os.getpid()} {os.environ['BATON_EPOCH']}\n")
for _ in range(20):
    con.execute("UPDATE c SET n = n + 1 WHERE id = 1")
    time.sleep(pause)
con.close()
