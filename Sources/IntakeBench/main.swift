import IntakeNet
