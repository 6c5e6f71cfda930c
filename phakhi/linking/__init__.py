"""Linking partners: peer matches, the collaboration network's metrics and the awareness/ACE correlation.

Pure functions over DataFrames, called by the dbt Python models in dbt_project/models/marts/linking/ (the
rules live here so unit tests can run them on hand-made partners; dbt owns when they run and tests the marts).
"""
