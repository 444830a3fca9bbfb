"""Turns campaign milestones into timed APScheduler jobs that fill the outbox.

`cdsflow.scheduler.planner.plan_campaign(scheduler, campaign_id)` (re)plans one campaign;
`cdsflow.scheduler.runner.make_scheduler(engine)` builds the deployment's one scheduler.
"""
