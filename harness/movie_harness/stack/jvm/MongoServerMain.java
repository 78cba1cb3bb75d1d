import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The local stack's MongoDB-protocol server: mongo-java-server on its persistent H2 (MVStore)
 * backend, with the oplog on (change streams). Usage: MongoServerMain HOST PORT DATABASE_FILE
 *
 * Writes are committed to the file every 200 ms and on shutdown, so a kill -9 loses at most
 * the last fraction of a second.
 */
public final class MongoServerMain {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MongoServerMain HOST PORT DATABASE_FILE");
            System.exit(2);
        }
        H2Backend backend = new H2Backend(args[2]);
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind(args[0], Integer.parseInt(args[1]));
        ScheduledExecutorService committer = Executors.newSingleThreadScheduledExecutor();
        committer.scheduleWithFixedDelay(backend::commit, 200, 200, TimeUnit.MILLISECONDS);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            committer.shutdown();
            server.shutdown();
        }));
        System.out.println("mongo-java-server (H2 backend " + args[2] + ") listening on " + args[0] + ":" + args[1]);
        Thread.currentThread().join();
    }
}
