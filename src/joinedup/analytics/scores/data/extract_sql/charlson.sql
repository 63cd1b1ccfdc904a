WITH "lookup_1" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS TEXT) AS "prefix" FROM (VALUES ('aids', 'B20'), ('aids', 'B21'), ('aids', 'B22'), ('aids', 'B24'), ('ami', 'I21'), ('ami', 'I22'), ('canc', 'C00'), ('canc', 'C01'), ('canc', 'C02'), ('canc', 'C03'), ('canc', 'C04'), ('canc', 'C05'), ('canc', 'C06'), ('canc', 'C07'), ('canc', 'C08'), ('canc', 'C09'), ('canc', 'C10'), ('canc', 'C11'), ('canc', 'C12'), ('canc', 'C13'), ('canc', 'C14'), ('canc', 'C15'), ('canc', 'C16'), ('canc', 'C17'), ('canc', 'C18'), ('canc', 'C19'), ('canc', 'C20'), ('canc', 'C21'), ('canc', 'C22'), ('canc', 'C23'), ('canc', 'C24'), ('canc', 'C25'), ('canc', 'C26'), ('canc', 'C30'), ('canc', 'C31'), ('canc', 'C32'), ('canc', 'C33'), ('canc', 'C34'), ('canc', 'C37'), ('canc', 'C38'), ('canc', 'C39'), ('canc', 'C40'), ('canc', 'C41'), ('canc', 'C43'), ('canc', 'C45'), ('canc', 'C46'), ('canc', 'C47'), ('canc', 'C48'), ('canc', 'C49'), ('canc', 'C50'), ('canc', 'C51'), ('canc', 'C52'), ('canc', 'C53'), ('canc', 'C54'), ('canc', 'C55'), ('canc', 'C56'), ('canc', 'C57'), ('canc', 'C58'), ('canc', 'C60'), ('canc', 'C61'), ('canc', 'C62'), ('canc', 'C63'), ('canc', 'C64'), ('canc', 'C65'), ('canc', 'C66'), ('canc', 'C67'), ('canc', 'C68'), ('canc', 'C69'), ('canc', 'C70'), ('canc', 'C71'), ('canc', 'C72'), ('canc', 'C73'), ('canc', 'C74'), ('canc', 'C75'), ('canc', 'C76'), ('canc', 'C81'), ('canc', 'C82'), ('canc', 'C83'), ('canc', 'C84'), ('canc', 'C85'), ('canc', 'C88'), ('canc', 'C90'), ('canc', 'C91'), ('canc', 'C92'), ('canc', 'C93'), ('canc', 'C94'), ('canc', 'C95'), ('canc', 'C96'), ('canc', 'C97'), ('cevd', 'G45'), ('cevd', 'G46'), ('cevd', 'I60'), ('cevd', 'I61'), ('cevd', 'I62'), ('cevd', 'I63'), ('cevd', 'I64'), ('cevd', 'I65'), ('cevd', 'I66'), ('cevd', 'I67'), ('cevd', 'I68'), ('cevd', 'I69'), ('chf', 'I43'), ('chf', 'I50'), ('copd', 'J40'), ('copd', 'J41'), ('copd', 'J42'), ('copd', 'J43'), ('copd', 'J44'), ('copd', 'J45'), ('copd', 'J46'), ('copd', 'J47'), ('copd', 'J60'), ('copd', 'J61'), ('copd', 'J62'), ('copd', 'J63'), ('copd', 'J64'), ('copd', 'J65'), ('copd', 'J66'), ('copd', 'J67'), ('dementia', 'F00'), ('dementia', 'F01'), ('dementia', 'F02'), ('dementia', 'F03'), ('dementia', 'G30'), ('hp', 'G81'), ('hp', 'G82'), ('metacanc', 'C77'), ('metacanc', 'C78'), ('metacanc', 'C79'), ('metacanc', 'C80'), ('mld', 'B18'), ('mld', 'K73'), ('mld', 'K74'), ('pud', 'K25'), ('pud', 'K26'), ('pud', 'K27'), ('pud', 'K28'), ('pvd', 'I70'), ('pvd', 'I71'), ('rend', 'N18'), ('rend', 'N19'), ('rheumd', 'M05'), ('rheumd', 'M06'), ('rheumd', 'M32'), ('rheumd', 'M33'), ('rheumd', 'M34'))),
"lookup_2" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS TEXT) AS "prefix" FROM (VALUES ('ami', 'I252'), ('cevd', 'H340'), ('chf', 'I099'), ('chf', 'I110'), ('chf', 'I130'), ('chf', 'I132'), ('chf', 'I255'), ('chf', 'I420'), ('chf', 'I425'), ('chf', 'I426'), ('chf', 'I427'), ('chf', 'I428'), ('chf', 'I429'), ('chf', 'P290'), ('copd', 'I278'), ('copd', 'I279'), ('copd', 'J684'), ('copd', 'J701'), ('copd', 'J703'), ('dementia', 'F051'), ('dementia', 'G311'), ('diab', 'E100'), ('diab', 'E101'), ('diab', 'E106'), ('diab', 'E108'), ('diab', 'E109'), ('diab', 'E110'), ('diab', 'E111'), ('diab', 'E116'), ('diab', 'E118'), ('diab', 'E119'), ('diab', 'E120'), ('diab', 'E121'), ('diab', 'E126'), ('diab', 'E128'), ('diab', 'E129'), ('diab', 'E130'), ('diab', 'E131'), ('diab', 'E136'), ('diab', 'E138'), ('diab', 'E139'), ('diab', 'E140'), ('diab', 'E141'), ('diab', 'E146'), ('diab', 'E148'), ('diab', 'E149'), ('diabwc', 'E102'), ('diabwc', 'E103'), ('diabwc', 'E104'), ('diabwc', 'E105'), ('diabwc', 'E107'), ('diabwc', 'E112'), ('diabwc', 'E113'), ('diabwc', 'E114'), ('diabwc', 'E115'), ('diabwc', 'E117'), ('diabwc', 'E122'), ('diabwc', 'E123'), ('diabwc', 'E124'), ('diabwc', 'E125'), ('diabwc', 'E127'), ('diabwc', 'E132'), ('diabwc', 'E133'), ('diabwc', 'E134'), ('diabwc', 'E135'), ('diabwc', 'E137'), ('diabwc', 'E142'), ('diabwc', 'E143'), ('diabwc', 'E144'), ('diabwc', 'E145'), ('diabwc', 'E147'), ('hp', 'G041'), ('hp', 'G114'), ('hp', 'G801'), ('hp', 'G802'), ('hp', 'G830'), ('hp', 'G831'), ('hp', 'G832'), ('hp', 'G833'), ('hp', 'G834'), ('hp', 'G839'), ('mld', 'K700'), ('mld', 'K701'), ('mld', 'K702'), ('mld', 'K703'), ('mld', 'K709'), ('mld', 'K713'), ('mld', 'K714'), ('mld', 'K715'), ('mld', 'K717'), ('mld', 'K760'), ('mld', 'K762'), ('mld', 'K763'), ('mld', 'K764'), ('mld', 'K768'), ('mld', 'K769'), ('mld', 'Z944'), ('msld', 'I850'), ('msld', 'I859'), ('msld', 'I864'), ('msld', 'I982'), ('msld', 'K704'), ('msld', 'K711'), ('msld', 'K721'), ('msld', 'K729'), ('msld', 'K765'), ('msld', 'K766'), ('msld', 'K767'), ('pvd', 'I731'), ('pvd', 'I738'), ('pvd', 'I739'), ('pvd', 'I771'), ('pvd', 'I790'), ('pvd', 'I792'), ('pvd', 'K551'), ('pvd', 'K558'), ('pvd', 'K559'), ('pvd', 'Z958'), ('pvd', 'Z959'), ('rend', 'I120'), ('rend', 'I131'), ('rend', 'N032'), ('rend', 'N033'), ('rend', 'N034'), ('rend', 'N035'), ('rend', 'N036'), ('rend', 'N037'), ('rend', 'N052'), ('rend', 'N053'), ('rend', 'N054'), ('rend', 'N055'), ('rend', 'N056'), ('rend', 'N057'), ('rend', 'N250'), ('rend', 'Z490'), ('rend', 'Z491'), ('rend', 'Z492'), ('rend', 'Z940'), ('rend', 'Z992'), ('rheumd', 'M315'), ('rheumd', 'M351'), ('rheumd', 'M353'), ('rheumd', 'M360'))),
"lookup_3" AS (SELECT CAST(col0 AS TEXT) AS "severe", CAST(col1 AS TEXT) AS "mild" FROM (VALUES ('diabwc', 'diab'), ('msld', 'mld'), ('metacanc', 'canc'))),
"lookup_4" AS (SELECT CAST(col0 AS TEXT) AS "group", CAST(col1 AS BIGINT) AS "weight", CAST(col2 AS BIGINT) AS "bit" FROM (VALUES ('ami', 1, 2), ('chf', 1, 16), ('pvd', 1, 16384), ('cevd', 1, 8), ('dementia', 1, 64), ('copd', 1, 32), ('rheumd', 1, 65536), ('pud', 1, 8192), ('mld', 1, 2048), ('diab', 1, 128), ('diabwc', 2, 256), ('hp', 2, 512), ('rend', 2, 32768), ('canc', 2, 4), ('msld', 3, 4096), ('metacanc', 6, 1024), ('aids', 6, 1)))
SELECT CAST("person_id" AS BIGINT) AS "person_id", CAST("charlson_score" AS BIGINT) AS "charlson_score", CAST("charlson_age_adjusted" AS BIGINT) AS "charlson_age_adjusted", CAST("charlson_groups" AS TEXT) AS "charlson_groups" FROM (
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
  "t40"."person_id",
  COALESCE("t40"."total", 0) AS "charlson_score",
  COALESCE("t40"."total", 0) + CASE
    WHEN "t40"."age" IS NULL
    THEN CAST(NULL AS BIGINT)
    WHEN "t40"."age" >= 80
    THEN 4
    WHEN "t40"."age" >= 70
    THEN 3
    WHEN "t40"."age" >= 60
    THEN 2
    WHEN "t40"."age" >= 50
    THEN 1
    ELSE 0
  END AS "charlson_age_adjusted",
  COALESCE("t40"."groups", '') AS "charlson_groups"
FROM (
  SELECT
    "t39".*
    EXCLUDE ("person_id_right")
  FROM (
    SELECT
      "t7"."person_id",
      "t7"."age",
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
            ) <> 0 THEN 'ami' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 4
            ) <> 0 THEN 'canc' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 8
            ) <> 0 THEN 'cevd' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 16
            ) <> 0 THEN 'chf' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 32
            ) <> 0 THEN 'copd' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 64
            ) <> 0 THEN 'dementia' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 128
            ) <> 0 THEN 'diab' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 256
            ) <> 0 THEN 'diabwc' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 512
            ) <> 0 THEN 'hp' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 1024
            ) <> 0 THEN 'metacanc' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 2048
            ) <> 0 THEN 'mld' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 4096
            ) <> 0 THEN 'msld' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 8192
            ) <> 0 THEN 'pud' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 16384
            ) <> 0 THEN 'pvd' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 32768
            ) <> 0 THEN 'rend' ELSE CAST(NULL AS TEXT) END,
            CASE WHEN (
              "t34"."bits" & 65536
            ) <> 0 THEN 'rheumd' ELSE CAST(NULL AS TEXT) END
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
) AS "t40"
)
