import unittest

import fixlog


class TestUnittestStyle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        fixlog.record("setup", "class", "setUpClass", cls.__name__)
        cls.shared = ["from setUpClass"]

    @classmethod
    def tearDownClass(cls):
        fixlog.record("teardown", "class", "setUpClass", cls.__name__)

    def setUp(self):
        self.items = [1, 2, 3]

    def tearDown(self):
        self.items = None

    def test_shared(self):
        self.assertEqual(self.shared, ["from setUpClass"])

    def test_items(self):
        self.items.append(4)
        self.assertEqual(len(self.items), 4)

    def test_fails(self):
        self.assertEqual(self.items, [3, 2, 1])

    @unittest.skip("unittest skip")
    def test_skipped(self):
        raise AssertionError("never runs")

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertEqual(1, 2)


class TestUnittestSetupError(unittest.TestCase):
    def setUp(self):
        raise ValueError("unittest setUp failed")

    def test_never_reached(self):
        pass
