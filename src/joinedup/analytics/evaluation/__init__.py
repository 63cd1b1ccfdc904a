"""Impact evaluation: did a programme change outcomes? (issue 18, evaluation half)

A programme (programme.py) names its units, start date and cohort rule; outcomes.py builds the
cohort's monthly outcomes from the population store; did.py, its.py and synthetic_control.py
each estimate the relative change with a 95% interval and show their checks; rtm.py shows
regression to the mean in the same area. See docs/adr/ for the design.
"""
