CREATE TABLE message_edit_info (
    message_row_id   INTEGER PRIMARY KEY,
    original_key_id  TEXT    NOT NULL,
    edited_timestamp INTEGER NOT NULL,
    sender_timestamp INTEGER NOT NULL
);
CREATE TABLE jid_map (lid_row_id INTEGER PRIMARY KEY NOT NULL, jid_row_id INTEGER NOT NULL, sort_id INTEGER);
CREATE INDEX IF NOT EXISTS jid_lid_map_jid_index ON jid_map (jid_row_id);
CREATE INDEX IF NOT EXISTS jid_map_sort_id_index ON jid_map (jid_row_id, sort_id);
CREATE TABLE lid_display_name (lid_row_id INTEGER PRIMARY KEY NOT NULL, display_name TEXT, username TEXT);
CREATE INDEX IF NOT EXISTS lid_display_name_upper_username_index ON lid_display_name (UPPER(username), lid_row_id);
