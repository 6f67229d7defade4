package throttle

import (
	"testing"
)

// TestLane runs the throttle's behavioural tests again with a remote store
// (the in-memory one, hidden behind remote): the lane, which calls it
// without the lock and batches the work, must keep every promise the
// in-memory path keeps. (Not the price measurements: a throttle takes any
// store but its own for one shared with other processes, whose calls go
// unseen between two answers, and measures no price; see
// TestSharedStoreMeasuresNoPrice.)
func TestLane(t *testing.T) {
	laneMode = true
	defer func() { laneMode = false }()
	for name, test := range map[string]func(*testing.T){
		"LearnsALoweredLimit":                         TestLearnsALoweredLimit,
		"LearnsARaisedLimit":                          TestLearnsARaisedLimit,
		"HiddenWindowHoldsAtLeastTheShownOne":         TestHiddenWindowHoldsAtLeastTheShownOne,
		"LearnsAPriceRise":                            TestLearnsAPriceRise,
		"NothingChangedNothingLearned":                TestNothingChangedNothingLearned,
		"InteractiveCallsGoBeforeAnImport":            TestInteractiveCallsGoBeforeAnImport,
		"ReserveLetsInteractiveCallsGoAtOnce":         TestReserveLetsInteractiveCallsGoAtOnce,
		"ReserveIsReleasedWhenNoInteractiveCallComes": TestReserveIsReleasedWhenNoInteractiveCallComes,
		"BatchIsNotStarved":                           TestBatchIsNotStarved,
		"PriorityOrderWithinTheQueue":                 TestPriorityOrderWithinTheQueue,
		"ResyncChargedLateNeverTrips":                 TestResyncChargedLateNeverTrips,
		"MemItBurstThenOneEvery12s":                   TestMemItBurstThenOneEvery12s,
		"PlainCallsBurst100ThenOneEvery600ms":         TestPlainCallsBurst100ThenOneEvery600ms,
		"MemItDayWindow":                              TestMemItDayWindow,
		"MixedLoad64GoroutinesForAnHour":              TestMixedLoad64GoroutinesForAnHour,
		"ResyncLowersWhenSomeoneElseSpends":           TestResyncLowersWhenSomeoneElseSpends,
		"ResyncRaisesWhenTheServerHasMore":            TestResyncRaisesWhenTheServerHasMore,
		"MalformedHeadersAreIgnoredAndCounted":        TestMalformedHeadersAreIgnoredAndCounted,
		"RetryAfterPausesEveryCaller":                 TestRetryAfterPausesEveryCaller,
		"Quota429DoesNotPause":                        TestQuota429DoesNotPause,
		"DeadlineFailsFast":                           TestDeadlineFailsFast,
		"CancelledWaitGivesItsPlaceBack":              TestCancelledWaitGivesItsPlaceBack,
		"FIFOMemItNotStarved":                         TestFIFOMemItNotStarved,
		"ColdStartSendsOneProbe":                      TestColdStartSendsOneProbe,
		"ColdStartOnADrainedKey":                      TestColdStartOnADrainedKey,
		"EstimateFromCurrentState":                    TestEstimateFromCurrentState,
		"NoisyNeighbour":                              TestNoisyNeighbour,
		"QueueUnderRandomLoad":                        TestQueueUnderRandomLoad,
		"BackfillAfterColdStart":                      TestBackfillAfterColdStart,
		"BackfillBoundHoldsWhenTheFlightIsFull":       TestBackfillBoundHoldsWhenTheFlightIsFull,
		"HeadFirstHeldByTheFlightStillLetsCallsPass":  TestHeadFirstHeldByTheFlightStillLetsCallsPass,
		"ResyncAnswersOutOfOrderAloneOnTheKey":        TestResyncAnswersOutOfOrderAloneOnTheKey,
		"ResyncAfterAnotherConsumerSpent":             TestResyncAfterAnotherConsumerSpent,
		"ResyncKeepsTheFractionWithinOneToken":        TestResyncKeepsTheFractionWithinOneToken,
		"BackfillKeepsBothKindsBusy":                  TestBackfillKeepsBothKindsBusy,
	} {
		t.Run(name, test)
	}
}
