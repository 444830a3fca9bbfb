"""Turns campaign milestones into reminder points and runs each due point once.

`cdsflow.services.planner` computes the points of a campaign from its milestone snapshot;
`cdsflow.scheduler.ticker.run_due_reminders(engine, now)` runs the due ones not yet recorded in
`reminder_run` (the worker calls it every few seconds, under the leader lock).
"""
