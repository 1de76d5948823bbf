"""Reads every file of one domain of an encrypted iPhone backup with two
independent readers from PyPI, iphone_backup_decrypt and pyiosbackup, into
OUT/iphone_backup_decrypt/<relativePath> and OUT/pyiosbackup/<relativePath>.

usage: read_encrypted_backup.py BACKUP DOMAIN OUT  (password on stdin)
"""
import os
import sys

from iphone_backup_decrypt import EncryptedBackup
from pyiosbackup import Backup

backup, domain, out = sys.argv[1:4]
password = sys.stdin.read()


def put(reader, relative, data):
    path = os.path.join(out, reader, relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


first = EncryptedBackup(backup_directory=backup, passphrase=password)
with first.manifest_db_cursor() as cursor:
    rows = cursor.execute("SELECT relativePath FROM Files WHERE domain = ? AND flags = 1", (domain,)).fetchall()
for (relative,) in rows:
    put("iphone_backup_decrypt", relative, first.extract_file_as_bytes(relative, domain_like=domain))

second = Backup.from_path(backup, password)
for entry in second.iter_files():
    if entry.domain == domain:
        put("pyiosbackup", entry.relative_path, entry.read_bytes())
print(len(rows))
