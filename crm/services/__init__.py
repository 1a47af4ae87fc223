"""Service layer: each public function is one use case and one transaction.

Conventions: the first two arguments are the unit of work and the acting
`Actor`; access is checked here; every change is audited in the same
transaction; input errors raise `InvalidInput` naming the field before
anything is written.
"""
