// IntakeStore: the durable log. Filled in by the store issue; see docs/STORAGE.md.
import IntakeCore
