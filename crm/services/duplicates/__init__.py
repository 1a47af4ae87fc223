"""Duplicate control: the check at the door (door.py), requests for a client someone else
serves (requests.py), the scan of /duplicates (scan.py), merge and undo (merge.py) and
"not a duplicate" marks (marks.py)."""
