"""Email: message building, the outbox, the SMTP sender and the local development sink.

Public entry points for other areas:
- `cdsflow.services.notices.enqueue_transactional(session, kind, assessment_id, context)`
  in the same transaction as a state change (returned, proposal_received, recognised);
- `cdsflow.services.fanout.fan_out_reminder(session, campaign_id, milestone_key, offset_key, now)`
  what a reminder job does (the caller commits);
- `cdsflow.notifications.sender.drain_outbox_sync(engine)` to deliver what is due.
"""
