-- Hand-written SQL for a few chain rules: the set of (source, target) pairs the rule infers
-- (derivable by at least one application of the rule, to the fixpoint), with no bookkeeping:
-- no STIX nodes, no explanations, no progress. bench/rules/run.py runs each section as
-- CREATE TEMP TABLE oracle AS <query> and compares the set with what the engine explained.
-- Self-loops are excluded at every step, as the engine does.

-- name: part_part
-- A part-of B part-of C => A part-of C: paths of two or more part-of edges.
WITH RECURSIVE closure(s, t) AS (
    SELECT a.source_id, b.target_id
    FROM intel_relationship a
    JOIN intel_relationship b ON b.source_id = a.target_id AND b.relationship_type = 'part-of'
    WHERE a.relationship_type = 'part-of' AND a.source_id <> b.target_id
  UNION
    SELECT c.s, b.target_id
    FROM closure c
    JOIN intel_relationship b ON b.source_id = c.t AND b.relationship_type = 'part-of'
    WHERE c.s <> b.target_id
)
SELECT s, t FROM closure;

-- name: location_location
-- A located-at B located-at C => A located-at C.
WITH RECURSIVE closure(s, t) AS (
    SELECT a.source_id, b.target_id
    FROM intel_relationship a
    JOIN intel_relationship b ON b.source_id = a.target_id AND b.relationship_type = 'located-at'
    WHERE a.relationship_type = 'located-at' AND a.source_id <> b.target_id
  UNION
    SELECT c.s, b.target_id
    FROM closure c
    JOIN intel_relationship b ON b.source_id = c.t AND b.relationship_type = 'located-at'
    WHERE c.s <> b.target_id
)
SELECT s, t FROM closure;

-- name: location_targets
-- A targets B, B located-at C (a location) => A targets C; inferred targets feed back.
WITH RECURSIVE closure(s, t) AS (
    SELECT a.source_id, b.target_id
    FROM intel_relationship a
    JOIN intel_relationship b ON b.source_id = a.target_id AND b.relationship_type = 'located-at'
    JOIN intel_stixobject n ON n.id = b.target_id AND n.type = 'location'
    WHERE a.relationship_type = 'targets' AND a.source_id <> b.target_id
  UNION
    SELECT c.s, b.target_id
    FROM closure c
    JOIN intel_relationship b ON b.source_id = c.t AND b.relationship_type = 'located-at'
    JOIN intel_stixobject n ON n.id = b.target_id AND n.type = 'location'
    WHERE c.s <> b.target_id
)
SELECT s, t FROM closure;

-- name: attribution_use
-- A uses B, A attributed-to C => C uses B; inferred uses feed back (attribution chains).
WITH RECURSIVE closure(s, t) AS (
    SELECT r.target_id, u.target_id
    FROM intel_relationship u
    JOIN intel_relationship r ON r.source_id = u.source_id AND r.relationship_type = 'attributed-to'
    WHERE u.relationship_type = 'uses' AND r.target_id <> u.target_id
  UNION
    SELECT r.target_id, c.t
    FROM closure c
    JOIN intel_relationship r ON r.source_id = c.s AND r.relationship_type = 'attributed-to'
    WHERE r.target_id <> c.t
)
SELECT s, t FROM closure;
