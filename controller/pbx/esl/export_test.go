package esl

// BreakReplyPairingForTest gives d eslgo's reply defect: a command whose
// context ends leaves the FIFO of waiters, so its late reply goes to the
// next command. Tests use it to prove the driver-contract suite catches
// such a client; call it before Run.
func BreakReplyPairingForTest(d *Driver) { d.testDropTimedOutWaiter = true }
