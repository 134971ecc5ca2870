-- What a notification says, as verified, without its send time and signature: a
-- redelivery of the same notify_id says the same. Empty for rows from before.
ALTER TABLE notification_inbox ADD COLUMN content TEXT NOT NULL DEFAULT '';
