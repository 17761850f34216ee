package crmexample;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Runs a task periodically: a timer in production, the mock's fake clock in tests. */
public interface Scheduler {
    void every(Duration period, Runnable task);

    /** The wall-clock timer a deployed client uses. */
    static Scheduler wallClock() {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crm-token-refresh");
            t.setDaemon(true);
            return t;
        });
        return (period, task) -> timer.scheduleAtFixedRate(task, period.toMillis(), period.toMillis(), TimeUnit.MILLISECONDS);
    }
}
