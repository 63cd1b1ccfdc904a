WITH "lookup_1" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS TEXT) AS "prefix" FROM (VALUES ('aids', 'B20'), ('aids', 'B21'), ('aids', 'B22'), ('aids', 'B24'), ('alcohol', 'E52'), ('alcohol', 'F10'), ('alcohol', 'T51'), ('carit', 'I47'), ('carit', 'I48'), ('carit', 'I49'), ('chf', 'I43'), ('chf', 'I50'), ('coag', 'D65'), ('coag', 'D66'), ('coag', 'D67'), ('coag', 'D68'), ('cpd', 'J40'), ('cpd', 'J41'), ('cpd', 'J42'), ('cpd', 'J43'), ('cpd', 'J44'), ('cpd', 'J45'), ('cpd', 'J46'), ('cpd', 'J47'), ('cpd', 'J60'), ('cpd', 'J61'), ('cpd', 'J62'), ('cpd', 'J63'), ('cpd', 'J64'), ('cpd', 'J65'), ('cpd', 'J66'), ('cpd', 'J67'), ('dane', 'D51'), ('dane', 'D52'), ('dane', 'D53'), ('depre', 'F32'), ('depre', 'F33'), ('drug', 'F11'), ('drug', 'F12'), ('drug', 'F13'), ('drug', 'F14'), ('drug', 'F15'), ('drug', 'F16'), ('drug', 'F18'), ('drug', 'F19'), ('fed', 'E86'), ('fed', 'E87'), ('hypc', 'I11'), ('hypc', 'I12'), ('hypc', 'I13'), ('hypc', 'I15'), ('hypothy', 'E00'), ('hypothy', 'E01'), ('hypothy', 'E02'), ('hypothy', 'E03'), ('hypunc', 'I10'), ('ld', 'B18'), ('ld', 'I85'), ('ld', 'K70'), ('ld', 'K72'), ('ld', 'K73'), ('ld', 'K74'), ('lymph', 'C81'), ('lymph', 'C82'), ('lymph', 'C83'), ('lymph', 'C84'), ('lymph', 'C85'), ('lymph', 'C88'), ('lymph', 'C96'), ('metacanc', 'C77'), ('metacanc', 'C78'), ('metacanc', 'C79'), ('metacanc', 'C80'), ('obes', 'E66'), ('ond', 'G10'), ('ond', 'G11'), ('ond', 'G12'), ('ond', 'G13'), ('ond', 'G20'), ('ond', 'G21'), ('ond', 'G22'), ('ond', 'G32'), ('ond', 'G35'), ('ond', 'G36'), ('ond', 'G37'), ('ond', 'G40'), ('ond', 'G41'), ('ond', 'R56'), ('para', 'G81'), ('para', 'G82'), ('pcd', 'I26'), ('pcd', 'I27'), ('psycho', 'F20'), ('psycho', 'F22'), ('psycho', 'F23'), ('psycho', 'F24'), ('psycho', 'F25'), ('psycho', 'F28'), ('psycho', 'F29'), ('pvd', 'I70'), ('pvd', 'I71'), ('rf', 'N18'), ('rf', 'N19'), ('rheumd', 'M05'), ('rheumd', 'M06'), ('rheumd', 'M08'), ('rheumd', 'M30'), ('rheumd', 'M32'), ('rheumd', 'M33'), ('rheumd', 'M34'), ('rheumd', 'M35'), ('rheumd', 'M45'), ('solidtum', 'C00'), ('solidtum', 'C01'), ('solidtum', 'C02'), ('solidtum', 'C03'), ('solidtum', 'C04'), ('solidtum', 'C05'), ('solidtum', 'C06'), ('solidtum', 'C07'), ('solidtum', 'C08'), ('solidtum', 'C09'), ('solidtum', 'C10'), ('solidtum', 'C11'), ('solidtum', 'C12'), ('solidtum', 'C13'), ('solidtum', 'C14'), ('solidtum', 'C15'), ('solidtum', 'C16'), ('solidtum', 'C17'), ('solidtum', 'C18'), ('solidtum', 'C19'), ('solidtum', 'C20'), ('solidtum', 'C21'), ('solidtum', 'C22'), ('solidtum', 'C23'), ('solidtum', 'C24'), ('solidtum', 'C25'), ('solidtum', 'C26'), ('solidtum', 'C30'), ('solidtum', 'C31'), ('solidtum', 'C32'), ('solidtum', 'C33'), ('solidtum', 'C34'), ('solidtum', 'C37'), ('solidtum', 'C38'), ('solidtum', 'C39'), ('solidtum', 'C40'), ('solidtum', 'C41'), ('solidtum', 'C43'), ('solidtum', 'C45'), ('solidtum', 'C46'), ('solidtum', 'C47'), ('solidtum', 'C48'), ('solidtum', 'C49'), ('solidtum', 'C50'), ('solidtum', 'C51'), ('solidtum', 'C52'), ('solidtum', 'C53'), ('solidtum', 'C54'), ('solidtum', 'C55'), ('solidtum', 'C56'), ('solidtum', 'C57'), ('solidtum', 'C58'), ('solidtum', 'C60'), ('solidtum', 'C61'), ('solidtum', 'C62'), ('solidtum', 'C63'), ('solidtum', 'C64'), ('solidtum', 'C65'), ('solidtum', 'C66'), ('solidtum', 'C67'), ('solidtum', 'C68'), ('solidtum', 'C69'), ('solidtum', 'C70'), ('solidtum', 'C71'), ('solidtum', 'C72'), ('solidtum', 'C73'), ('solidtum', 'C74'), ('solidtum', 'C75'), ('solidtum', 'C76'), ('solidtum', 'C97'), ('valv', 'I05'), ('valv', 'I06'), ('valv', 'I07'), ('valv', 'I08'), ('valv', 'I34'), ('valv', 'I35'), ('valv', 'I36'), ('valv', 'I37'), ('valv', 'I38'), ('valv', 'I39'), ('wloss', 'E40'), ('wloss', 'E41'), ('wloss', 'E42'), ('wloss', 'E43'), ('wloss', 'E44'), ('wloss', 'E45'), ('wloss', 'E46'), ('wloss', 'R64'))),
"lookup_2" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS TEXT) AS "prefix" FROM (VALUES ('alcohol', 'G621'), ('alcohol', 'I426'), ('alcohol', 'K292'), ('alcohol', 'K700'), ('alcohol', 'K703'), ('alcohol', 'K709'), ('alcohol', 'Z502'), ('alcohol', 'Z714'), ('alcohol', 'Z721'), ('blane', 'D500'), ('carit', 'I441'), ('carit', 'I442'), ('carit', 'I443'), ('carit', 'I456'), ('carit', 'I459'), ('carit', 'R000'), ('carit', 'R001'), ('carit', 'R008'), ('carit', 'T821'), ('carit', 'Z450'), ('carit', 'Z950'), ('chf', 'I099'), ('chf', 'I110'), ('chf', 'I130'), ('chf', 'I132'), ('chf', 'I255'), ('chf', 'I420'), ('chf', 'I425'), ('chf', 'I426'), ('chf', 'I427'), ('chf', 'I428'), ('chf', 'I429'), ('chf', 'P290'), ('coag', 'D691'), ('coag', 'D693'), ('coag', 'D694'), ('coag', 'D695'), ('coag', 'D696'), ('cpd', 'I278'), ('cpd', 'I279'), ('cpd', 'J684'), ('cpd', 'J701'), ('cpd', 'J703'), ('dane', 'D508'), ('dane', 'D509'), ('depre', 'F204'), ('depre', 'F313'), ('depre', 'F314'), ('depre', 'F315'), ('depre', 'F341'), ('depre', 'F412'), ('depre', 'F432'), ('diabc', 'E102'), ('diabc', 'E103'), ('diabc', 'E104'), ('diabc', 'E105'), ('diabc', 'E106'), ('diabc', 'E107'), ('diabc', 'E108'), ('diabc', 'E112'), ('diabc', 'E113'), ('diabc', 'E114'), ('diabc', 'E115'), ('diabc', 'E116'), ('diabc', 'E117'), ('diabc', 'E118'), ('diabc', 'E122'), ('diabc', 'E123'), ('diabc', 'E124'), ('diabc', 'E125'), ('diabc', 'E126'), ('diabc', 'E127'), ('diabc', 'E128'), ('diabc', 'E132'), ('diabc', 'E133'), ('diabc', 'E134'), ('diabc', 'E135'), ('diabc', 'E136'), ('diabc', 'E137'), ('diabc', 'E138'), ('diabc', 'E142'), ('diabc', 'E143'), ('diabc', 'E144'), ('diabc', 'E145'), ('diabc', 'E146'), ('diabc', 'E147'), ('diabc', 'E148'), ('diabunc', 'E100'), ('diabunc', 'E101'), ('diabunc', 'E109'), ('diabunc', 'E110'), ('diabunc', 'E111'), ('diabunc', 'E119'), ('diabunc', 'E120'), ('diabunc', 'E121'), ('diabunc', 'E129'), ('diabunc', 'E130'), ('diabunc', 'E131'), ('diabunc', 'E139'), ('diabunc', 'E140'), ('diabunc', 'E141'), ('diabunc', 'E149'), ('drug', 'Z715'), ('drug', 'Z722'), ('fed', 'E222'), ('hypothy', 'E890'), ('ld', 'I864'), ('ld', 'I982'), ('ld', 'K711'), ('ld', 'K713'), ('ld', 'K714'), ('ld', 'K715'), ('ld', 'K717'), ('ld', 'K760'), ('ld', 'K762'), ('ld', 'K763'), ('ld', 'K764'), ('ld', 'K765'), ('ld', 'K766'), ('ld', 'K767'), ('ld', 'K768'), ('ld', 'K769'), ('ld', 'Z944'), ('lymph', 'C900'), ('lymph', 'C902'), ('ond', 'G254'), ('ond', 'G255'), ('ond', 'G312'), ('ond', 'G318'), ('ond', 'G319'), ('ond', 'G931'), ('ond', 'G934'), ('ond', 'R470'), ('para', 'G041'), ('para', 'G114'), ('para', 'G801'), ('para', 'G802'), ('para', 'G830'), ('para', 'G831'), ('para', 'G832'), ('para', 'G833'), ('para', 'G834'), ('para', 'G839'), ('pcd', 'I280'), ('pcd', 'I288'), ('pcd', 'I289'), ('psycho', 'F302'), ('psycho', 'F312'), ('psycho', 'F315'), ('pud', 'K257'), ('pud', 'K259'), ('pud', 'K267'), ('pud', 'K269'), ('pud', 'K277'), ('pud', 'K279'), ('pud', 'K287'), ('pud', 'K289'), ('pvd', 'I731'), ('pvd', 'I738'), ('pvd', 'I739'), ('pvd', 'I771'), ('pvd', 'I790'), ('pvd', 'I792'), ('pvd', 'K551'), ('pvd', 'K558'), ('pvd', 'K559'), ('pvd', 'Z958'), ('pvd', 'Z959'), ('rf', 'I120'), ('rf', 'I131'), ('rf', 'N250'), ('rf', 'Z490'), ('rf', 'Z491'), ('rf', 'Z492'), ('rf', 'Z940'), ('rf', 'Z992'), ('rheumd', 'L940'), ('rheumd', 'L941'), ('rheumd', 'L943'), ('rheumd', 'M120'), ('rheumd', 'M123'), ('rheumd', 'M310'), ('rheumd', 'M311'), ('rheumd', 'M312'), ('rheumd', 'M313'), ('rheumd', 'M461'), ('rheumd', 'M468'), ('rheumd', 'M469'), ('valv', 'A520'), ('valv', 'I091'), ('valv', 'I098'), ('valv', 'Q230'), ('valv', 'Q231'), ('valv', 'Q232'), ('valv', 'Q233'), ('valv', 'Z952'), ('valv', 'Z953'), ('valv', 'Z954'), ('wloss', 'R634'))),
"lookup_3" AS (SELECT CAST(col0 AS TEXT) AS "severe", CAST(col1 AS TEXT) AS "mild" FROM (VALUES ('hypc', 'hypunc'), ('diabc', 'diabunc'), ('metacanc', 'solidtum'))),
"lookup_4" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS BIGINT) AS "weight", CAST(col2 AS BIGINT) AS "bit" FROM (VALUES ('chf', 7, 16), ('carit', 5, 8), ('valv', -1, 536870912), ('pcd', 4, 4194304), ('pvd', 2, 33554432), ('hypunc', 0, 32768), ('hypc', 0, 8192), ('para', 7, 2097152), ('ond', 6, 1048576), ('cpd', 3, 64), ('diabunc', 0, 1024), ('diabc', 0, 512), ('hypothy', 0, 16384), ('rf', 5, 67108864), ('ld', 11, 65536), ('pud', 0, 16777216), ('aids', 0, 1), ('lymph', 9, 131072), ('metacanc', 12, 262144), ('solidtum', 4, 268435456), ('rheumd', 0, 134217728), ('coag', 3, 32), ('obes', -4, 524288), ('wloss', 6, 1073741824), ('fed', 5, 4096), ('blane', -2, 4), ('dane', -2, 128), ('alcohol', 0, 2), ('drug', -7, 2048), ('psycho', 0, 8388608), ('depre', -3, 256)))
SELECT CAST("person_id" AS BIGINT) AS "person_id", CAST("elixhauser_score" AS BIGINT) AS "elixhauser_score", CAST("elixhauser_groups" AS TEXT) AS "elixhauser_groups" FROM (
WITH "t14" AS (
  SELECT
    "t6"."code",
    NULLIF(
      REGEXP_EXTRACT(
        UPPER(REGEXP_REPLACE("t6"."code", '[^A-Za-z0-9]', '', 'g')),
        '^([A-Z][0-9]{2}[0-9]*)',
        1
      ),
      ''
    ) AS "normal"
  FROM "extract_lexicon" AS "t6"
), "present" AS (
  SELECT DISTINCT
    "t24"."person_id",
    "t24"."group"
  FROM (
    SELECT
      "t13"."person_id",
      "t23"."group",
      "t23"."normal" AS "code"
    FROM (
      SELECT
        *
      FROM "extract_rows" AS "t3"
    ) AS "t13"
    INNER JOIN (
      SELECT
        *
      FROM (
        SELECT
          "t18"."code",
          "t10"."group",
          "t18"."normal"
        FROM (
          SELECT
            "t15"."code",
            "t15"."normal",
            SUBSTRING(
              "t15"."normal",
              CASE WHEN (
                0 + 1
              ) >= 1 THEN 0 + 1 ELSE 0 + 1 + LENGTH("t15"."normal") END,
              3
            ) AS "key"
          FROM "t14" AS "t15"
        ) AS "t18"
        INNER JOIN "lookup_1" AS "t10"
          ON "t18"."key" = "t10"."prefix"
      ) AS "t20"
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          "t19"."code",
          "t11"."group",
          "t19"."normal"
        FROM (
          SELECT
            "t15"."code",
            "t15"."normal",
            SUBSTRING(
              "t15"."normal",
              CASE WHEN (
                0 + 1
              ) >= 1 THEN 0 + 1 ELSE 0 + 1 + LENGTH("t15"."normal") END,
              4
            ) AS "key"
          FROM "t14" AS "t15"
        ) AS "t19"
        INNER JOIN "lookup_2" AS "t11"
          ON "t19"."key" = "t11"."prefix"
      ) AS "t21"
    ) AS "t23"
      ON "t13"."code" = "t23"."code"
  ) AS "t24"
), "t31" AS (
  SELECT
    "t30"."person_id",
    SUM("t30"."weight") AS "total",
    SUM("t30"."bit") AS "bits"
  FROM (
    SELECT
      "t27"."person_id",
      "t27"."group",
      "t8"."weight",
      "t8"."bit"
    FROM "present" AS "t27"
    ANTI JOIN (
      SELECT
        "t27"."person_id",
        "t9"."mild" AS "group"
      FROM "present" AS "t27"
      INNER JOIN "lookup_3" AS "t9"
        ON "t27"."group" = "t9"."severe"
    ) AS "t29"
      ON "t27"."person_id" = "t29"."person_id" AND "t27"."group" = "t29"."group"
    INNER JOIN "lookup_4" AS "t8"
      ON "t27"."group" = "t8"."group"
  ) AS "t30"
  GROUP BY
    1
)
SELECT
  "t39"."person_id",
  COALESCE("t39"."total", 0) AS "elixhauser_score",
  COALESCE("t39"."groups", '') AS "elixhauser_groups"
FROM (
  SELECT
    "t7"."person_id",
    "t38"."person_id" AS "person_id_right",
    "t38"."total",
    "t38"."groups"
  FROM "extract_people" AS "t7"
  LEFT OUTER JOIN (
    SELECT
      "t33"."person_id",
      "t33"."total",
      "t36"."groups"
    FROM "t31" AS "t33"
    INNER JOIN (
      SELECT
        "t34"."bits",
        CONCAT_WS(
          ', ',
          CASE WHEN (
            "t34"."bits" & 1
          ) <> 0 THEN 'aids' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 2
          ) <> 0 THEN 'alcohol' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 4
          ) <> 0 THEN 'blane' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 8
          ) <> 0 THEN 'carit' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 16
          ) <> 0 THEN 'chf' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 32
          ) <> 0 THEN 'coag' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 64
          ) <> 0 THEN 'cpd' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 128
          ) <> 0 THEN 'dane' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 256
          ) <> 0 THEN 'depre' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 512
          ) <> 0 THEN 'diabc' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 1024
          ) <> 0 THEN 'diabunc' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 2048
          ) <> 0 THEN 'drug' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 4096
          ) <> 0 THEN 'fed' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 8192
          ) <> 0 THEN 'hypc' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 16384
          ) <> 0 THEN 'hypothy' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 32768
          ) <> 0 THEN 'hypunc' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 65536
          ) <> 0 THEN 'ld' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 131072
          ) <> 0 THEN 'lymph' ELSE CAST(NULL AS TEXT) END,
          CASE
            WHEN (
              "t34"."bits" & 262144
            ) <> 0
            THEN 'metacanc'
            ELSE CAST(NULL AS TEXT)
          END,
          CASE WHEN (
            "t34"."bits" & 524288
          ) <> 0 THEN 'obes' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 1048576
          ) <> 0 THEN 'ond' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 2097152
          ) <> 0 THEN 'para' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 4194304
          ) <> 0 THEN 'pcd' ELSE CAST(NULL AS TEXT) END,
          CASE
            WHEN (
              "t34"."bits" & 8388608
            ) <> 0
            THEN 'psycho'
            ELSE CAST(NULL AS TEXT)
          END,
          CASE WHEN (
            "t34"."bits" & 16777216
          ) <> 0 THEN 'pud' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 33554432
          ) <> 0 THEN 'pvd' ELSE CAST(NULL AS TEXT) END,
          CASE WHEN (
            "t34"."bits" & 67108864
          ) <> 0 THEN 'rf' ELSE CAST(NULL AS TEXT) END,
          CASE
            WHEN (
              "t34"."bits" & 134217728
            ) <> 0
            THEN 'rheumd'
            ELSE CAST(NULL AS TEXT)
          END,
          CASE
            WHEN (
              "t34"."bits" & 268435456
            ) <> 0
            THEN 'solidtum'
            ELSE CAST(NULL AS TEXT)
          END,
          CASE
            WHEN (
              "t34"."bits" & 536870912
            ) <> 0
            THEN 'valv'
            ELSE CAST(NULL AS TEXT)
          END,
          CASE
            WHEN (
              "t34"."bits" & 1073741824
            ) <> 0
            THEN 'wloss'
            ELSE CAST(NULL AS TEXT)
          END
        ) AS "groups"
      FROM (
        SELECT DISTINCT
          "t32"."bits"
        FROM "t31" AS "t32"
      ) AS "t34"
    ) AS "t36"
      ON "t33"."bits" = "t36"."bits"
  ) AS "t38"
    ON "t7"."person_id" = "t38"."person_id"
) AS "t39"
)
