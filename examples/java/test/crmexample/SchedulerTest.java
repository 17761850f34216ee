package crmexample;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The deployed client's timer: the task runs again and again at its period. */
class SchedulerTest {
    @Test
    void wallClockRunsTheTaskRepeatedly() throws InterruptedException {
        CountDownLatch ticks = new CountDownLatch(3);
        Scheduler.wallClock().every(Duration.ofMillis(5), ticks::countDown);
        assertTrue(ticks.await(10, TimeUnit.SECONDS), "three ticks of a 5 ms timer within 10 s");
    }
}
