"""Detection engine for Linux audit logs."""

from detect.native import use_current_code

use_current_code()  # before any hot module is imported: never run a stale compiled build
