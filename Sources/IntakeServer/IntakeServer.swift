// IntakeServer: wiring of loops, codecs, store and domain.
