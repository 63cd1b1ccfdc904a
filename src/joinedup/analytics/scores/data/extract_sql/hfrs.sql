WITH "lookup_1" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS TEXT) AS "prefix" FROM (VALUES ('F00', 'F00'), ('G81', 'G81'), ('G30', 'G30'), ('I69', 'I69'), ('R29', 'R29'), ('F05', 'F05'), ('N39', 'N39'), ('S00', 'S00'), ('W19', 'W19'), ('R31', 'R31'), ('B96', 'B96'), ('R41', 'R41'), ('I67', 'I67'), ('R26', 'R26'), ('R56', 'R56'), ('R40', 'R40'), ('S06', 'S06'), ('T83', 'T83'), ('E86', 'E86'), ('E87', 'E87'), ('M25', 'M25'), ('S42', 'S42'), ('R54', 'R54'), ('F03', 'F03'), ('W18', 'W18'), ('Z50', 'Z50'), ('F01', 'F01'), ('L03', 'L03'), ('S80', 'S80'), ('Z75', 'Z75'), ('E53', 'E53'), ('H54', 'H54'), ('G20', 'G20'), ('K59', 'K59'), ('N17', 'N17'), ('R55', 'R55'), ('S22', 'S22'), ('Z60', 'Z60'), ('B95', 'B95'), ('L89', 'L89'), ('Z22', 'Z22'), ('A41', 'A41'), ('I95', 'I95'), ('K26', 'K26'), ('L97', 'L97'), ('N19', 'N19'), ('R44', 'R44'), ('G40', 'G40'), ('J96', 'J96'), ('M19', 'M19'), ('X59', 'X59'), ('Z87', 'Z87'), ('E16', 'E16'), ('M81', 'M81'), ('N18', 'N18'), ('R94', 'R94'), ('S32', 'S32'), ('S72', 'S72'), ('N28', 'N28'), ('R33', 'R33'), ('R69', 'R69'), ('G31', 'G31'), ('G45', 'G45'), ('R32', 'R32'), ('R45', 'R45'), ('S09', 'S09'), ('Y95', 'Y95'), ('A04', 'A04'), ('A09', 'A09'), ('J18', 'J18'), ('M79', 'M79'), ('S01', 'S01'), ('W06', 'W06'), ('Z74', 'Z74'), ('E55', 'E55'), ('J69', 'J69'), ('R02', 'R02'), ('R47', 'R47'), ('Z93', 'Z93'), ('E05', 'E05'), ('H91', 'H91'), ('M41', 'M41'), ('R63', 'R63'), ('W01', 'W01'), ('W10', 'W10'), ('I63', 'I63'), ('K92', 'K92'), ('M80', 'M80'), ('R13', 'R13'), ('U80', 'U80'), ('Z99', 'Z99'), ('F10', 'F10'), ('J22', 'J22'), ('N20', 'N20'), ('R00', 'R00'), ('Y84', 'Y84'), ('R79', 'R79'), ('Z73', 'Z73'), ('F32', 'F32'), ('M48', 'M48'), ('S51', 'S51'), ('Z91', 'Z91'), ('D64', 'D64'), ('E83', 'E83'), ('L08', 'L08'), ('M15', 'M15'), ('K52', 'K52'), ('R11', 'R11'), ('R50', 'R50'))),
"lookup_2" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS BIGINT) AS "weight" FROM (VALUES ('F00', 71), ('G81', 44), ('G30', 40), ('I69', 37), ('R29', 36), ('F05', 32), ('N39', 32), ('S00', 32), ('W19', 32), ('R31', 30), ('B96', 29), ('R41', 27), ('I67', 26), ('R26', 26), ('R56', 26), ('R40', 25), ('S06', 24), ('T83', 24), ('E86', 23), ('E87', 23), ('M25', 23), ('S42', 23), ('R54', 22), ('F03', 21), ('W18', 21), ('Z50', 21), ('F01', 20), ('L03', 20), ('S80', 20), ('Z75', 20), ('E53', 19), ('H54', 19), ('G20', 18), ('K59', 18), ('N17', 18), ('R55', 18), ('S22', 18), ('Z60', 18), ('B95', 17), ('L89', 17), ('Z22', 17), ('A41', 16), ('I95', 16), ('K26', 16), ('L97', 16), ('N19', 16), ('R44', 16), ('G40', 15), ('J96', 15), ('M19', 15), ('X59', 15), ('Z87', 15), ('E16', 14), ('M81', 14), ('N18', 14), ('R94', 14), ('S32', 14), ('S72', 14), ('N28', 13), ('R33', 13), ('R69', 13), ('G31', 12), ('G45', 12), ('R32', 12), ('R45', 12), ('S09', 12), ('Y95', 12), ('A04', 11), ('A09', 11), ('J18', 11), ('M79', 11), ('S01', 11), ('W06', 11), ('Z74', 11), ('E55', 10), ('J69', 10), ('R02', 10), ('R47', 10), ('Z93', 10), ('E05', 9), ('H91', 9), ('M41', 9), ('R63', 9), ('W01', 9), ('W10', 9), ('I63', 8), ('K92', 8), ('M80', 8), ('R13', 8), ('U80', 8), ('Z99', 8), ('F10', 7), ('J22', 7), ('N20', 7), ('R00', 7), ('Y84', 7), ('R79', 6), ('Z73', 6), ('F32', 5), ('M48', 5), ('S51', 5), ('Z91', 5), ('D64', 4), ('E83', 4), ('L08', 4), ('M15', 4), ('K52', 3), ('R11', 3), ('R50', 1)))
SELECT CAST("person_id" AS BIGINT) AS "person_id", CAST("hfrs_score" AS DOUBLE) AS "hfrs_score", CAST("hfrs_category" AS TEXT) AS "hfrs_category", CAST("hfrs_groups" AS TEXT) AS "hfrs_groups" FROM (
SELECT
  "t9"."person_id",
  COALESCE("t21"."total", 0) / 10 AS "hfrs_score",
  CASE
    WHEN COALESCE("t21"."total", 0) < 50
    THEN 'low'
    WHEN COALESCE("t21"."total", 0) <= 150
    THEN 'intermediate'
    ELSE 'high'
  END AS "hfrs_category",
  COALESCE("t21"."groups", '') AS "hfrs_groups"
FROM (
  SELECT
    *
  FROM "extract_people" AS "t0"
) AS "t9"
LEFT OUTER JOIN (
  SELECT
    "t19"."person_id",
    SUM("t19"."weight") AS "total",
    ARRAY_TO_STRING(
      ARRAY_SORT(ARRAY_AGG("t19"."group") FILTER(WHERE
        "t19"."group" IS NOT NULL)),
      ', '
    ) AS "groups"
  FROM (
    SELECT
      "t18"."person_id",
      "t18"."group",
      "t5"."weight"
    FROM (
      SELECT DISTINCT
        "t16"."person_id",
        "t16"."group"
      FROM (
        SELECT
          "t10"."person_id",
          "t15"."group",
          "t15"."normal" AS "code"
        FROM (
          SELECT
            *
          FROM "extract_rows" AS "t2"
        ) AS "t10"
        INNER JOIN (
          SELECT
            "t13"."code",
            "t6"."group",
            "t13"."normal"
          FROM (
            SELECT
              "t11"."code",
              "t11"."normal",
              SUBSTRING(
                "t11"."normal",
                CASE WHEN (
                  0 + 1
                ) >= 1 THEN 0 + 1 ELSE 0 + 1 + LENGTH("t11"."normal") END,
                3
              ) AS "key"
            FROM (
              SELECT
                "t4"."code",
                NULLIF(
                  REGEXP_EXTRACT(
                    UPPER(REGEXP_REPLACE("t4"."code", '[^A-Za-z0-9]', '', 'g')),
                    '^([A-Z][0-9]{2}[0-9]*)',
                    1
                  ),
                  ''
                ) AS "normal"
              FROM "extract_lexicon" AS "t4"
            ) AS "t11"
          ) AS "t13"
          INNER JOIN "lookup_1" AS "t6"
            ON "t13"."key" = "t6"."prefix"
        ) AS "t15"
          ON "t10"."code" = "t15"."code"
      ) AS "t16"
    ) AS "t18"
    INNER JOIN "lookup_2" AS "t5"
      ON "t18"."group" = "t5"."group"
  ) AS "t19"
  GROUP BY
    1
) AS "t21"
  ON "t9"."person_id" = "t21"."person_id"
)
