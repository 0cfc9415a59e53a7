"""`ProvideX.Script` and `SY_Session` for the simulator, plus the backend that owns the SQLite file and the knobs."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mlconnector.sage.boi import RET_OK, CallCounter
from mlconnector.sage.sim.objects import Counted
from mlconnector.sage.sim.rules import OBJECTS
from mlconnector.sage.sim.schema import connect, create_all
from mlconnector.sage.sim.seed import TASK_NAMES, hash_password, seed_company
from mlconnector.sage.unconfirmed import UNCONFIRMED

MODULES = ("P/O", "A/P", "G/L", "C/I", "I/M", "S/O", "A/R")
TASKS = {name: 100 + i for i, name in enumerate(TASK_NAMES)}
DB_NAME = "sage100-sim.sqlite"


@dataclass
class SimKnobs:
    """Fault and speed knobs: chance that a write finds its record in use, latency per BOI call, a frozen clock."""

    lock_probability: float = 0.0
    latency_ms: float = 0.0
    rng_seed: int | None = None
    clock: Callable[[], datetime] | None = None


@dataclass
class SimBackend:
    """The simulator as a backend: one SQLite file under `data_dir`, shared by every script and session."""

    data_dir: Path
    knobs: SimKnobs = field(default_factory=SimKnobs)
    counter: CallCounter = field(default_factory=CallCounter)
    name: str = "simulator"

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self._rng = random.Random(self.knobs.rng_seed)
        self._rng_lock = threading.Lock()

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_NAME

    def home(self) -> str:
        return str(self.data_dir)

    def thread_init(self) -> None:
        """SQLite needs nothing per thread; each script opens its own connection."""

    def create_script(self) -> ProvideXScript:
        return ProvideXScript(self)

    def connect(self) -> sqlite3.Connection:
        if not self.db_path.exists():
            raise FileNotFoundError(
                f"No simulated company in {self.data_dir}; run `ml-connector sage-sim init --data {self.data_dir}`."
            )
        return connect(self.db_path)

    def init_company(self, *, purchase_orders: int = 25, rng_seed: int = 7, when: datetime | None = None) -> None:
        """Create the SQLite file and seed company ABC (left alone when already seeded)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conn = connect(self.db_path)
        try:
            seed_company(conn, rng_seed=rng_seed, purchase_orders=purchase_orders, when=when)
        finally:
            conn.close()

    @classmethod
    def open(cls, data_dir: Path) -> SimBackend:
        """An existing simulated company with the knobs set by `sage-sim knobs`; a clear error when there is none."""
        sim = cls(Path(data_dir))
        sim.load_settings()
        return sim

    def load_settings(self) -> None:
        """Pick up knobs a person set with `sage-sim knobs` (stored in SIM_Setting)."""
        conn = self.connect()
        try:
            create_all(conn)
            for name, value in conn.execute("SELECT Name, Value FROM SIM_Setting"):
                if name in ("lock_probability", "latency_ms"):
                    setattr(self.knobs, name, float(value))
        finally:
            conn.close()

    def now(self) -> datetime:
        return self.knobs.clock() if self.knobs.clock else datetime.now()

    def roll_contention(self) -> bool:
        if not self.knobs.lock_probability:
            return False
        with self._rng_lock:
            return self._rng.random() < self.knobs.lock_probability


class ProvideXScript(Counted):
    """`ProvideX.Script`: `Init(home)` then `NewObject("SY_Session")` and business objects bound to a session."""

    object_name = "ProvideX.Script"

    def __init__(self, sim: SimBackend) -> None:
        super().__init__(None)
        self.sim = sim
        self.conn: sqlite3.Connection | None = None

    def _sim(self) -> SimBackend:
        return self.sim

    def Init(self, home: str) -> None:
        self._hit("Init")
        if Path(home) != self.sim.data_dir:
            raise RuntimeError(f"Init: {home} is not a MAS90\\Home path of this installation.")
        self.conn = self.sim.connect()

    def NewObject(self, name: str, session: SySession | None = None) -> Any:
        """Create `SY_Session` or a business object; fails (raises, as COM does) without the task's context."""
        self._hit("NewObject")
        if self.conn is None:
            raise RuntimeError("NewObject before Init.")
        if name == "SY_Session":
            return SySession(self.sim, self.conn)
        cls = OBJECTS.get(name)
        if cls is None:
            raise RuntimeError(f"NewObject: {name} is not a known object.")
        if session is None or not session.company:
            raise RuntimeError(f"NewObject {name}: the session has no company.")
        if not getattr(cls, "read_only", False) and session.task != cls.task:
            session._msg = f"{name} requires the program {cls.task}; call nSetProgram(nLookupTask(...)) first."
            raise RuntimeError(session._msg)
        return cls(session)


class SySession(Counted):
    """`SY_Session`: user, company, module, date and program (task) context, plus record locks and numbering."""

    object_name = "SY_Session"

    def __init__(self, sim: SimBackend, conn: sqlite3.Connection) -> None:
        super().__init__(None)
        self.sim = sim
        self.conn = conn
        self.id = f"S{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.user = ""
        self.user_key = ""
        self.company = ""
        self.module = ""
        self.date = ""
        self.task = ""
        self._rights: dict[str, str] = {}

    @property
    def session(self) -> SySession:
        return self

    def _sim(self) -> SimBackend:
        return self.sim

    def nLogon(self) -> int:
        """Seen in some scripts before nSetUser; semantics unconfirmed, so a no-op returning 1."""
        self._hit("nLogon")
        return RET_OK

    def nSetUser(self, user: str, password: str) -> int:
        self._hit("nSetUser")
        row = self.conn.execute("SELECT * FROM SY_User WHERE UserLogon=?", (user,)).fetchone()
        if row is None or hash_password(password, row["PasswordSalt"]) != row["PasswordHash"]:
            return self._fail("Invalid user logon or password.")
        self.user, self.user_key = user, row["UserKey"]
        self._rights = {
            r[0]: r[1]
            for r in self.conn.execute("SELECT TaskName, Rights FROM SIM_UserTaskRight WHERE UserLogon=?", (user,))
        }
        return RET_OK

    def nSetCompany(self, company: str) -> int:
        self._hit("nSetCompany")
        if not self.user:
            return self._fail("Set the user before the company.")
        if not self.conn.execute("SELECT 1 FROM SY_Company WHERE CompanyCode=?", (company,)).fetchone():
            return self._fail(f"Company code {company} is not on file.")
        self.company = company
        return RET_OK

    def nSetDate(self, module: str, date: str) -> int:
        self._hit("nSetDate")
        try:
            datetime.strptime(str(date), "%Y%m%d")
            if len(str(date)) != 8:
                raise ValueError
        except ValueError:
            return self._fail(f"Invalid date {date!r}; expected YYYYMMDD.")
        if module not in MODULES:
            return self._fail(f"Invalid module {module!r}.")
        self.date = str(date)
        return RET_OK

    def nSetModule(self, module: str) -> int:
        self._hit("nSetModule")
        if module not in MODULES:
            return self._fail(f"Invalid module {module!r}.")
        self.module = module
        return RET_OK

    def nLookupTask(self, name: str) -> int:
        self._hit("nLookupTask")
        return TASKS.get(name, 0)

    def nSetProgram(self, task_id: int) -> int:
        self._hit("nSetProgram")
        names = {v: k for k, v in TASKS.items()}
        name = names.get(int(task_id))
        if name is None:
            return self._fail(f"Invalid program {task_id}.")
        if not self._rights.get(name):
            return self._fail(f"User {self.user} does not have access to {name}.")
        self.task = name
        return RET_OK

    def has_right(self, task: str, letter: str) -> bool:
        return letter in self._rights.get(task, "")

    def nCleanup(self) -> int:
        self._hit("nCleanup")
        self.release_all()
        return RET_OK

    def DropObject(self) -> None:
        super().DropObject()
        self.release_all()

    # -- locks and numbering (simulator internals, not BOI methods) ------------------------------------------
    def in_use_message(self, table: str, key: str) -> str:
        return f"The {table} record {key} is {UNCONFIRMED.lock_message_fragment} by another user or task."

    def lock_free(self, table: str, key: str) -> bool:
        row = self.conn.execute(
            "SELECT Holder, ExpiresAt FROM SIM_Lock WHERE TableName=? AND RecordKey=?", (table, key)
        ).fetchone()
        return row is None or row[0] == self.id or (row[1] and row[1] < time.time())

    def lock(self, table: str, key: str, obj: Counted) -> bool:
        """Hold `table`/`key` for this session; 0 with an "in use" message when someone else holds it."""
        if self.sim.roll_contention():
            obj._msg = self.in_use_message(table, key)
            return False
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if not self.lock_free(table, key):
                self.conn.execute("ROLLBACK")
                obj._msg = self.in_use_message(table, key)
                return False
            self.conn.execute("INSERT OR REPLACE INTO SIM_Lock VALUES (?,?,?,?)", (table, key, self.id, 0.0))
            self.conn.execute("COMMIT")
        except Exception:
            self.conn.execute("ROLLBACK")
            raise
        return True

    def unlock(self, table: str, key: str) -> None:
        self.conn.execute("DELETE FROM SIM_Lock WHERE TableName=? AND RecordKey=? AND Holder=?", (table, key, self.id))

    def release_all(self) -> None:
        self.conn.execute("DELETE FROM SIM_Lock WHERE Holder=?", (self.id,))

    def next_number(self, name: str, *, in_transaction: bool = False) -> int:
        """Atomic across sessions and processes: the UPDATE … RETURNING runs under SQLite's write lock."""
        if in_transaction:
            return int(
                self.conn.execute(
                    "UPDATE SIM_NextNumber SET NextValue=NextValue+1 WHERE Name=? RETURNING NextValue-1", (name,)
                ).fetchone()[0]
            )
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            value = int(
                self.conn.execute(
                    "UPDATE SIM_NextNumber SET NextValue=NextValue+1 WHERE Name=? RETURNING NextValue-1", (name,)
                ).fetchone()[0]
            )
            self.conn.execute("COMMIT")
        except Exception:
            self.conn.execute("ROLLBACK")
            raise
        return value
