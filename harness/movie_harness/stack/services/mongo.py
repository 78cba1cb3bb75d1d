"""The MongoDB wire protocol: mongo-java-server on its persistent H2 backend."""

from __future__ import annotations

from movie_harness.stack import jvm
from movie_harness.stack.services.base import Service
from movie_pipeline.processes import tcp_open


class Mongo(Service):
    name = "mongo"

    def prepare(self) -> None:
        super().prepare()
        jvm.fetch("mongo")
        jvm.compile_main("MongoServerMain", "mongo")

    def command(self) -> list[str]:
        classpath = jvm.classpath("mongo", with_classes=True)
        database = self.data_dir / "mongo.mv.db"
        return [
            "java",
            "-Xmx384m",
            "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire=warn",
            "-cp",
            classpath,
            "MongoServerMain",
            self.host,
            str(self.port),
            str(database),
        ]

    def is_ready(self) -> bool:
        if not tcp_open(self.host, self.port):
            return False
        import pymongo

        try:
            client = pymongo.MongoClient(self.host, self.port, serverSelectionTimeoutMS=1500)
            client.admin.command("ping")
            client.close()
            return True
        except pymongo.errors.PyMongoError:
            return False
