<?php
require __DIR__ . '/CrmClient.php';
require __DIR__ . '/Crmmock.php';
