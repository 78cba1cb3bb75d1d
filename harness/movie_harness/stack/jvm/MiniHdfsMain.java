import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

import java.io.File;
import java.nio.file.Files;

/**
 * The local stack's HDFS: a MiniDFSCluster (1 NameNode + N DataNodes) whose storage survives
 * restarts. Usage: MiniHdfsMain HOST NAMENODE_PORT HTTP_PORT BASE_DIR DATANODES
 *
 * The first start formats the NameNode; later starts reuse the name and data directories, so
 * files written before a kill -9 are there after the restart. WebHDFS is on (HTTP_PORT).
 */
public final class MiniHdfsMain {
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: MiniHdfsMain HOST NAMENODE_PORT HTTP_PORT BASE_DIR DATANODES");
            System.exit(2);
        }
        String host = args[0];
        File base = new File(args[3]);
        File formatted = new File(base, ".formatted");
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getAbsolutePath());
        conf.setBoolean("dfs.webhdfs.enabled", true);
        conf.setBoolean("dfs.permissions.enabled", false);
        conf.set("dfs.datanode.hostname", host);
        conf.set("dfs.namenode.rpc-bind-host", host);
        conf.set("dfs.namenode.http-bind-host", host);
        // the HTTP servers' default principal HTTP/_HOST makes Hadoop resolve the machine's name, fatal where it does not
        conf.set("hadoop.http.authentication.kerberos.principal", "HTTP/" + host + "@LOCALHOST");
        conf.setInt("dfs.replication", 3);
        conf.setInt("dfs.namenode.safemode.min.datanodes", Integer.parseInt(args[4]));
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf)
                .nameNodePort(Integer.parseInt(args[1]))
                .nameNodeHttpPort(Integer.parseInt(args[2]))
                .numDataNodes(Integer.parseInt(args[4]))
                .format(!formatted.exists())
                .manageNameDfsDirs(true)
                .manageDataDfsDirs(true)
                .build();
        cluster.waitActive();
        Files.writeString(formatted.toPath(), "formatted\n");
        Runtime.getRuntime().addShutdownHook(new Thread(cluster::shutdown));
        System.out.println("MiniDFSCluster ready: hdfs://" + host + ":" + args[1] + " (WebHDFS http://" + host + ":" + args[2] + "), "
                + args[4] + " datanodes, storage " + base);
        Thread.currentThread().join();
    }
}
