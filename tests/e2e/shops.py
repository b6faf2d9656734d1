"""Ports of the two shop sites in browser tests: one may embed the widget, one may not.

Its own module, imported under one name by both conftests, so both see the same ports.
"""

from dropdesk.devrun import free_port

ALLOWED_SHOP_PORT, REFUSED_SHOP_PORT = free_port(), free_port()
