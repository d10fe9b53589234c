"""The embedded broker: kombu's filesystem transport, made safe for several processes at once.

kombu's own `filesystem://` writes a message file in place (a reader can take it half-written) and claims it with
`shutil.move` to the system temp folder (a copy, not an atomic rename, when that folder is on another file system).
Here a message is written to `tmp/` and renamed into the queue folder, so it appears whole or not at all, and a
consumer claims it with one `os.rename` into `claimed/` inside the same folder: exactly one consumer gets each
message. A message is removed when it is read; a worker that dies loses the task it held, and the sweepers (beat)
pick the work up again from the database rows, which are the outbox.

Used through `CELERY_BROKER_URL=fsqueue://` with `CELERY_BROKER_FOLDER` (see settings).
"""

from __future__ import annotations

import os
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def _folder(self, name: str) -> str:
        path = os.path.join(os.path.dirname(self.data_folder_in.rstrip("/")), name)
        os.makedirs(path, exist_ok=True)
        return path

    def _put(self, queue, payload, **kwargs):
        name = f"{int(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        temporary = os.path.join(self._folder("tmp"), name)
        try:
            with open(temporary, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.rename(temporary, os.path.join(self.data_folder_out, name))
        except OSError as err:
            raise ChannelError(f"Cannot add message {name!r} to the queue folder: {err}") from err

    def _get(self, queue):
        suffix = f".{queue}.msg"
        claimed_folder = self._folder("claimed")
        for name in sorted(os.listdir(self.data_folder_in)):
            if not name.endswith(suffix):
                continue
            claimed = os.path.join(claimed_folder, f"{os.getpid()}-{name}")
            try:
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(claimed, "rb") as handle:
                    payload = handle.read()
            finally:
                os.remove(claimed)
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
    driver_type = driver_name = "fsqueue"


TRANSPORT_ALIASES.setdefault("fsqueue", "apilo.broker:Transport")
