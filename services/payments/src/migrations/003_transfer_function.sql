-- A transfer in one statement. The account rows are hot (every transfer locks two of them), so how
-- long a transfer holds them bounds the whole service's write rate. Done from the app, the locked part
-- was three round trips (lock and read the accounts, write the transfer and ledger, store the
-- response), each one waiting for the app's event loop: behind a burst (the requests held during a
-- failover, released at once) every lock holder waited behind the burst, the rate fell below the
-- offered load and the queue never drained. Here the locks are held only inside Postgres, for the
-- statement, until the COMMIT that follows it.
--
-- The caller decides what the lock key and the response's error code are (JSON and the error table
-- live in the app); this function takes the same locks in the same order as before: the advisory lock
-- on the (caller, key) pair, then the two account rows in id order (no deadlock between opposite
-- transfers).
--
-- kind: 'replayed' (the key's stored decision; the app compares request_hash), 'not_found' (an
-- account is missing or the source is not the caller's: one answer for both) or 'decided' (now);
-- outcome, status_code and response are the key's decision (response is what replays return).
CREATE OR REPLACE FUNCTION payments_transfer(
  p_lock_key text,
  p_caller text,
  p_key text,
  p_hash text,
  p_from text,
  p_to text,
  p_amount bigint,
  p_insufficient_code text
) RETURNS TABLE (kind text, outcome text, request_hash text, status_code integer, response jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  from_owner text;
  from_balance bigint;
  to_found boolean := false;
  a record;
  t_id bigint;
  t_created timestamptz;
  body jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_lock_key));

  RETURN QUERY
    SELECT 'replayed'::text, t.outcome, t.request_hash, t.status_code::integer, t.response
      FROM transfers t
     WHERE t.caller = p_caller AND t.idempotency_key = p_key;
  IF FOUND THEN
    RETURN;
  END IF;

  FOR a IN
    SELECT id, owner, balance FROM accounts WHERE id IN (p_from, p_to) ORDER BY id FOR UPDATE
  LOOP
    IF a.id = p_from THEN
      from_owner := a.owner;
      from_balance := a.balance;
    END IF;
    IF a.id = p_to THEN
      to_found := true;
    END IF;
  END LOOP;
  IF from_owner IS DISTINCT FROM p_caller OR NOT to_found THEN
    RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::text, 404, NULL::jsonb;
    RETURN;
  END IF;

  IF from_balance < p_amount THEN
    body := jsonb_build_object('error', jsonb_build_object(
      'code', p_insufficient_code,
      'message', format('account %s has %s, transfer needs %s', p_from, from_balance, p_amount)));
    INSERT INTO transfers
      (idempotency_key, request_hash, caller, from_account, to_account, amount, outcome, status_code, response)
    VALUES (p_key, p_hash, p_caller, p_from, p_to, p_amount, 'insufficient_funds', 409, body);
    RETURN QUERY SELECT 'decided'::text, 'insufficient_funds'::text, p_hash, 409, body;
    RETURN;
  END IF;

  INSERT INTO transfers
    (idempotency_key, request_hash, caller, from_account, to_account, amount, outcome, status_code, response)
  VALUES (p_key, p_hash, p_caller, p_from, p_to, p_amount, 'completed', 201, '{}'::jsonb)
  RETURNING id, created_at INTO t_id, t_created;
  INSERT INTO ledger_entries (transfer_id, account_id, amount)
  VALUES (t_id, p_from, -p_amount), (t_id, p_to, p_amount);
  UPDATE accounts SET balance = balance + CASE WHEN id = p_from THEN -p_amount ELSE p_amount END
   WHERE id IN (p_from, p_to);
  -- createdAt as JavaScript's Date#toISOString() writes it (milliseconds, UTC, Z)
  body := jsonb_build_object(
    'id', t_id,
    'idempotencyKey', p_key,
    'from', p_from,
    'to', p_to,
    'amount', p_amount,
    'status', 'completed',
    'createdAt', to_char(t_created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'));
  UPDATE transfers SET response = body WHERE id = t_id;
  RETURN QUERY SELECT 'decided'::text, 'completed'::text, p_hash, 201, body;
END $$;

-- The whole transaction in one round trip: called with CALL outside a transaction block, it takes the
-- settings the app's transactions SET LOCAL (synchronous_commit, the request's deadline for the commit
-- guard, the rest of that deadline as lock_timeout; NULLs when the request carries no deadline), runs
-- payments_transfer() and COMMITs itself. The locks are released by that COMMIT, inside Postgres:
-- nothing waits for the app between the last row written and the commit (callTransaction in the kit).
CREATE OR REPLACE PROCEDURE payments_transfer_commit(
  p_synchronous_commit text,
  p_deadline_ms text,
  p_lock_timeout_ms integer,
  p_lock_key text,
  p_caller text,
  p_key text,
  p_hash text,
  p_from text,
  p_to text,
  p_amount bigint,
  p_insufficient_code text,
  INOUT kind text DEFAULT NULL,
  INOUT outcome text DEFAULT NULL,
  INOUT request_hash text DEFAULT NULL,
  INOUT status_code integer DEFAULT NULL,
  INOUT response jsonb DEFAULT NULL
)
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('synchronous_commit', p_synchronous_commit, true);
  IF p_deadline_ms IS NOT NULL THEN
    PERFORM set_config('failover_lab.deadline_ms', p_deadline_ms, true);
    PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
  END IF;
  SELECT t.kind, t.outcome, t.request_hash, t.status_code, t.response
    INTO kind, outcome, request_hash, status_code, response
    FROM payments_transfer(p_lock_key, p_caller, p_key, p_hash, p_from, p_to, p_amount, p_insufficient_code) t;
  COMMIT;
END $$;
