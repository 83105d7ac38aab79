"""Loading the real reference data and the synthetic demo network into the database."""

from network.demo.loader import (
    DEMO_PASSWORD,
    DemoSummary,
    load_demo,
    load_reference_data,
)

__all__ = ["DEMO_PASSWORD", "DemoSummary", "load_demo", "load_reference_data"]
