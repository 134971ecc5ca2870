ALTER TABLE notification_inbox DROP COLUMN content;
