"""The realistic synthetic area generator: joinedup's embedded default population.

`generate_area(store, patients=300_000, seed=1)` writes every population-store table for a
fictional area whose practices, people, conditions, frailty, medicines and use of services
behave like an English one (see area.py for the stages and each module for its model).
"""

from joinedup.population.synthetic.area import generate_area
from joinedup.population.synthetic.records import GENERATOR_VERSION

__all__ = ["GENERATOR_VERSION", "generate_area"]
