"""The demo company: a believable L2C business loaded through the record service.

``tessera demo load`` (see :mod:`.command`) or :func:`load_demo`. The data is planned by small
generators — :mod:`.catalog` (products and prices), :mod:`.marketing` and :mod:`.leads`
(campaigns, tenders, pools, leads), :mod:`.accounts` and :mod:`.pipeline` (accounts, contacts,
opportunities), :mod:`.revenue`, :mod:`.orders` and :mod:`.cash` (quote to cash) — and replayed in
time order by :mod:`.timeline`, so every record looks as if it happened on its own date.
"""

from .loader import DEFAULT_SEED, DemoRefused, DemoResult, empty_org, load_demo
from .users import DEMO_USERS, DemoUser
from .writes import DemoDataError

__all__ = ["DEFAULT_SEED", "DEMO_USERS", "DemoDataError", "DemoRefused", "DemoResult", "DemoUser", "empty_org",
           "load_demo"]
