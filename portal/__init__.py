"""Phakhi's partner portal (Django): partners submit their reports and see their own progress before the public
does; DCCE runs the month from a staff console. It reads the published warehouse (portal/warehouse.py) and
writes into the landing area, never into the warehouse."""
