"""Read FHIR R4 into contract rows: transaction/collection bundles and Bulk Data NDJSON.

`read_fhir(paths)` yields `ReaderItem`s for the batch. Files are streamed: NDJSON one line at a
time, bundles entry by entry (see below). Each resource is validated against the FHIR R4B
models, then checked field by field where it is mapped (full dates, codes, NHS numbers), and
rejected with a reason naming the resource and field.

Mapping onto the table contracts (`joinedup contracts <table>`):

==================  =========================================================================
Patient             patients (NHS number from identifier system ``https://fhir.nhs.uk/Id/
                    nhs-number``; ethnicity from UK Core EthnicCategory or US Core race;
                    LSOA from an address extension, with its IMD decile); registration from
                    ``generalPractitioner`` (an Organization) or else the practice of the
                    latest GP encounter
Organization        organisations, when it is a GP practice (someone's registered practice or
                    the service provider of a GP encounter); code = ODS code where given, else
                    ``X`` + 11 characters of a hash of its id
Practitioner        clinician id (a hash) and role, for GP appointments
Appointment         the day it was booked (``created``), for the GP appointment whose
                    Encounter names it in ``appointment`` (contained or elsewhere in the batch)
Encounter           by ``class``: AMB → gp_appointments (telephone / video / home visit from the
                    type), unless it names a 3-digit treatment function in ``serviceType`` →
                    outpatient_appointments; HH → community_contacts; EMER → ae_attendances;
                    IMP, ACUTE, NONAC, SS → hospital_spells (+ ICD-10 reasons as spell
                    diagnoses); VR → gp_appointments (video)
Condition           clinical_events (SNOMED CT, ICD-10, Read v2, CTV3), dated at onset
Observation         clinical_events (LOINC, SNOMED CT) with value and UCUM unit; each
                    ``component`` (blood pressure) is its own event
MedicationRequest   medications (dm+d, SNOMED CT, RxNorm)
MedicationStatement
Procedure           clinical_events
CarePlan            clinical_events: each category code, dated at the plan's start
==================  =========================================================================

Other resource types are counted as unsupported. FHIR carries no NHS cost: activity rows come
with cost None and the batch prices them at the reference unit cost
(`joinedup.population.unit_costs`), counting them in the summary; medication issues keep 0
(medicines are priced per product, and RxNorm has no NHS price).

Bundles are streamed with ijson (a first pass of parser events collects the fullUrl aliases of
Patients, Organizations and Practitioners; a second yields ``Bundle.entry`` items one at a
time), NDJSON a line at a time, so memory is flat whatever the file size. Every supported
resource is validated against its ``fhir.resources.R4B`` model before it is mapped; a pydantic
error becomes one reason naming the resource, the field path and the problem
("Observation/abc: effectiveDateTime '2021-02-30' is not a date (day value is outside expected
range)").
"""

from joinedup.population.ingest.fhir.bundles import expand_paths
from joinedup.population.ingest.fhir.reader import FhirReader, read_fhir
from joinedup.population.ingest.fhir.validation import model_problem

__all__ = ["FhirReader", "expand_paths", "model_problem", "read_fhir"]
