"""Service processes for tests: the production helper, re-exported (see ``shared.processes``)."""

from shared.processes import ServiceProcess as ServiceProcess
from shared.processes import port_in_use as port_in_use
